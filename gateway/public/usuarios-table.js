/* «Usuarios»: one page of users (POR_PAGINA), each with a button to open its account. */

import { api } from './api.js'
import { $, addCell, money, setText, syncRows } from './dom.js'
import { PAGE_SIZE, state } from './state.js'

/** Fetches the page at state.offset (stepping back from past the end) and shows it; `choose(id, true)` opens an account. */
export async function refreshUsuarios (choose) {
  const data = await api('GET', '/usuarios?limit=' + PAGE_SIZE + '&offset=' + state.offset)
  state.total = data.total
  if (data.usuarios.length === 0 && state.offset > 0) {
    state.offset = Math.max(0, state.offset - PAGE_SIZE)
    return await refreshUsuarios(choose)
  }
  syncRows($('tabla-usuarios').tBodies[0], data.usuarios, (u) => u.id, (u) => {
    const row = document.createElement('tr')
    addCell(row, String(u.id), 'num')
    addCell(row, '')
    addCell(row, '', 'num')
    const td = addCell(row, '')
    const button = document.createElement('button')
    button.type = 'button'
    button.className = 'secundario'
    button.dataset.foco = 'usuario-' + u.id
    button.addEventListener('click', () => choose(u.id, true))
    td.appendChild(button)
    return row
  }, (row, u) => {
    setText(row.cells[1], u.nombre)
    setText(row.cells[2], money.format(u.saldo))
    const button = row.cells[3].firstChild
    setText(button, u.id === state.usuarioId ? 'Elegido' : 'Elegir')
    button.setAttribute('aria-label', (u.id === state.usuarioId ? 'Elegido: ' : 'Elegir a ') + u.nombre)
    button.setAttribute('aria-pressed', String(u.id === state.usuarioId))
    if (u.id === state.usuarioId) row.setAttribute('aria-current', 'true')
    else row.removeAttribute('aria-current')
  })
  const from = data.total === 0 ? 0 : state.offset + 1
  const to = state.offset + data.usuarios.length
  setText($('usuarios-rango'), from + '–' + to + ' de ' + data.total)
  $('usuarios-anteriores').disabled = state.offset === 0
  $('usuarios-siguientes').disabled = to >= data.total
}

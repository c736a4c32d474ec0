/* «Usuarios»: one page of users (POR_PAGINA), each with a button to open its account. */

import { api } from './api.js'
import { $, celda, dinero, poner, sincronizarFilas } from './dom.js'
import { estado, POR_PAGINA } from './state.js'

/** Fetches the page at estado.offset (stepping back from past the end) and shows it; `elegir(id, true)` opens an account. */
export async function refrescarUsuarios (elegir) {
  const datos = await api('GET', '/usuarios?limit=' + POR_PAGINA + '&offset=' + estado.offset)
  estado.total = datos.total
  if (datos.usuarios.length === 0 && estado.offset > 0) {
    estado.offset = Math.max(0, estado.offset - POR_PAGINA)
    return await refrescarUsuarios(elegir)
  }
  sincronizarFilas($('tabla-usuarios').tBodies[0], datos.usuarios, (u) => u.id, (u) => {
    const fila = document.createElement('tr')
    celda(fila, String(u.id), 'num')
    celda(fila, '')
    celda(fila, '', 'num')
    const td = celda(fila, '')
    const boton = document.createElement('button')
    boton.type = 'button'
    boton.className = 'secundario'
    boton.dataset.foco = 'usuario-' + u.id
    boton.addEventListener('click', () => elegir(u.id, true))
    td.appendChild(boton)
    return fila
  }, (fila, u) => {
    poner(fila.cells[1], u.nombre)
    poner(fila.cells[2], dinero.format(u.saldo))
    const boton = fila.cells[3].firstChild
    poner(boton, u.id === estado.usuarioId ? 'Elegido' : 'Elegir')
    boton.setAttribute('aria-label', (u.id === estado.usuarioId ? 'Elegido: ' : 'Elegir a ') + u.nombre)
    boton.setAttribute('aria-pressed', String(u.id === estado.usuarioId))
    if (u.id === estado.usuarioId) fila.setAttribute('aria-current', 'true')
    else fila.removeAttribute('aria-current')
  })
  const desde = datos.total === 0 ? 0 : estado.offset + 1
  const hasta = estado.offset + datos.usuarios.length
  poner($('usuarios-rango'), desde + '–' + hasta + ' de ' + datos.total)
  $('usuarios-anteriores').disabled = estado.offset === 0
  $('usuarios-siguientes').disabled = hasta >= datos.total
}

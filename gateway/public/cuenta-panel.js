/* «Cuenta»: the chosen user's balance and last payments; announces each payment that stops being pendiente. */

import { api } from './api.js'
import { $, addCell, money, setText, syncRows, timeOfDay } from './dom.js'
import { notify } from './forms.js'
import { state } from './state.js'

/** Fetches and shows the account of state.usuarioId (nothing without one); sets state.pending. */
export async function refreshCuenta () {
  if (state.usuarioId === null) return
  const id = state.usuarioId
  const [usuario, list] = await Promise.all([
    api('GET', '/usuarios/' + id),
    api('GET', '/usuarios/' + id + '/pagos?limit=20')
  ])
  if (id !== state.usuarioId) return
  setText($('cuenta-nombre'), usuario.nombre + ' (#' + usuario.id + ')')
  setText($('cuenta-saldo'), money.format(usuario.saldo))
  $('cuenta-vacia').hidden = true
  $('cuenta-detalle').hidden = false

  for (const p of list.pagos) {
    const before = state.seen.get(p.id)
    if (before === 'pendiente' && p.estado !== 'pendiente') {
      notify('Pago de ' + money.format(p.monto) + (p.concepto ? ' (' + p.concepto + ')' : '') + ': ' + p.estado + (p.estado === 'fallido' ? ', importe devuelto al saldo.' : '.'))
    }
    state.seen.set(p.id, p.estado)
  }
  state.pending = list.pagos.some((p) => p.estado === 'pendiente')

  syncRows($('tabla-pagos').tBodies[0], list.pagos, (p) => p.id, () => {
    // Concept, amount and state first: what a phone shows without scrolling the table.
    const row = document.createElement('tr')
    addCell(row, '')
    addCell(row, '', 'num')
    const td = addCell(row, '')
    const badge = document.createElement('span')
    badge.className = 'estado'
    td.appendChild(badge)
    addCell(row, '')
    addCell(row, '', 'motivo')
    return row
  }, (row, p) => {
    setText(row.cells[0], p.concepto || '—')
    setText(row.cells[1], money.format(p.monto))
    const badge = row.cells[2].firstChild
    badge.dataset.estado = p.estado
    setText(badge, p.estado)
    setText(row.cells[3], timeOfDay.format(new Date(p.creadoEn)))
    setText(row.cells[4], p.motivo || '')
  })
  $('pagos-vacio').hidden = list.pagos.length > 0
}

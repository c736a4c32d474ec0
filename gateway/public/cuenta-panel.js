/* «Cuenta»: the chosen user's balance, last payments (each completed one with its refund button) and their refunds; announces each payment that stops being pendiente. */

import { api } from './api.js'
import { $, addCell, money, setText, syncRows, timeOfDay } from './dom.js'
import { notify } from './forms.js'
import { openRefundForm, refreshReembolsos, refundable } from './reembolsos.js'
import { state } from './state.js'

/** Shows the hint that the payments table scrolls sideways only while it is wider than its box (a phone). */
export function showScrollHint () {
  const box = $('pagos-tabla')
  $('pagos-desliza').hidden = $('cuenta-detalle').hidden || box.scrollWidth <= box.clientWidth + 1
}

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
  state.pagos = new Map(list.pagos.map((p) => [p.id, p]))
  const refundsPending = await refreshReembolsos(id, list.pagos)
  if (id !== state.usuarioId) return
  state.pending = refundsPending || list.pagos.some((p) => p.estado === 'pendiente')

  syncRows($('tabla-pagos').tBodies[0], list.pagos, (p) => p.id, (p) => {
    // Concept, amount and state first: what a phone shows without scrolling the table.
    const row = document.createElement('tr')
    addCell(row, '')
    addCell(row, '', 'num')
    const td = addCell(row, '')
    const badge = document.createElement('span')
    badge.className = 'estado'
    td.appendChild(badge)
    const refund = addCell(row, '', 'reembolso')
    const button = document.createElement('button')
    button.type = 'button'
    button.className = 'secundario'
    button.textContent = 'Reembolsar'
    button.dataset.foco = 'reembolsar-' + p.id
    button.addEventListener('click', () => openRefundForm(state.pagos.get(p.id) ?? p))
    refund.append(button, document.createElement('span'))
    addCell(row, '')
    addCell(row, '', 'motivo')
    return row
  }, (row, p) => {
    setText(row.cells[0], p.concepto || '—')
    setText(row.cells[1], money.format(p.monto))
    const badge = row.cells[2].firstChild
    badge.dataset.estado = p.estado
    setText(badge, p.estado)
    const [button, refunded] = row.cells[3].children
    button.hidden = p.estado !== 'completado' || refundable(p) <= 0
    button.setAttribute('aria-label', 'Reembolsar el pago ' + (p.concepto || '') + ' de ' + money.format(p.monto))
    setText(refunded, p.reembolsado > 0 ? 'reembolsado ' + money.format(p.reembolsado) : '')
    setText(row.cells[4], timeOfDay.format(new Date(p.creadoEn)))
    setText(row.cells[5], p.motivo || '')
  })
  $('pagos-vacio').hidden = list.pagos.length > 0
  showScrollHint()
}

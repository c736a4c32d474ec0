/*
 * Refunds of completed payments: the form that asks for one (amount
 * optional: empty refunds what is left) and the table of the account's
 * refunds, whose estado moves from pendiente on its own with the polling
 * loop. Only the refunds of the payments shown are fetched, and a payment's
 * list is asked again only while one is pendiente or its `reembolsado`
 * changed.
 */

import { api } from './api.js'
import { $, addCell, money, setText, syncRows, timeOfDay } from './dom.js'
import { idempotencyKey, markInvalidAmount, notify, readAmount, submit } from './forms.js'
import { state } from './state.js'

const FINAL = new Set(['completado', 'fallido'])

/** What is left to refund of a payment as far as the page knows (completed and pending refunds count). */
export function refundable (pago) {
  const known = state.refunds.get(pago.id)
  const pendingCents = known ? known.reembolsos.filter((r) => r.estado === 'pendiente').reduce((n, r) => n + Math.round(r.monto * 100), 0) : 0
  return Math.max(0, Math.round(pago.monto * 100) - Math.round(pago.reembolsado * 100) - pendingCents) / 100
}

/** Fetches the refunds of the shown payments that have (or may have) some; shows them; true while one is pendiente. */
export async function refreshReembolsos (usuarioId, pagos) {
  const asked = pagos.filter((p) => {
    const known = state.refunds.get(p.id)
    if (known) return known.reembolsos.some((r) => !FINAL.has(r.estado)) || known.reembolsado !== p.reembolsado
    return p.reembolsado > 0
  })
  const lists = await Promise.all(asked.map((p) => api('GET', '/usuarios/' + usuarioId + '/pagos/' + p.id + '/reembolsos')))
  if (usuarioId !== state.usuarioId) return false
  asked.forEach((p, i) => state.refunds.set(p.id, { reembolsado: p.reembolsado, reembolsos: lists[i].reembolsos }))

  const shown = []
  for (const p of pagos) {
    for (const r of state.refunds.get(p.id)?.reembolsos ?? []) shown.push({ r, p })
  }
  shown.sort((a, b) => b.r.creadoEn.localeCompare(a.r.creadoEn))
  for (const { r, p } of shown) {
    const before = state.seenRefunds.get(r.id)
    if (before === 'pendiente' && r.estado !== 'pendiente') {
      notify('Reembolso de ' + money.format(r.monto) + ' del pago ' + (p.concepto || money.format(p.monto)) + ': ' + r.estado + (r.estado === 'completado' ? ', importe devuelto al saldo.' : '.'))
    }
    state.seenRefunds.set(r.id, r.estado)
  }

  syncRows($('tabla-reembolsos').tBodies[0], shown, (e) => e.r.id, () => {
    const row = document.createElement('tr')
    addCell(row, '')
    addCell(row, '', 'num')
    const badge = document.createElement('span')
    badge.className = 'estado'
    addCell(row, '').appendChild(badge)
    addCell(row, '')
    addCell(row, '', 'motivo')
    return row
  }, (row, { r, p }) => {
    setText(row.cells[0], (p.concepto || '—') + ' (' + money.format(p.monto) + ')')
    setText(row.cells[1], money.format(r.monto))
    const badge = row.cells[2].firstChild
    badge.dataset.estado = r.estado
    setText(badge, r.estado)
    setText(row.cells[3], timeOfDay.format(new Date(r.creadoEn)))
    setText(row.cells[4], r.motivoFallo || r.motivo || '')
  })
  $('reembolsos').hidden = shown.length === 0
  return shown.some(({ r }) => r.estado === 'pendiente')
}

/** Opens the refund form for one payment, in view, with the cursor in its amount. */
export function openRefundForm (pago) {
  const form = $('form-reembolsar')
  form.dataset.pagoId = pago.id
  delete form.dataset.idempotencia
  form.reset()
  $('error-reembolsar').textContent = ''
  $('reembolsar-monto').removeAttribute('aria-invalid')
  const left = refundable(pago)
  setText($('reembolsar-pago'), 'Pago ' + (pago.concepto ? '«' + pago.concepto + '» ' : '') + 'de ' + money.format(pago.monto) + (pago.reembolsado > 0 ? ', ya reembolsado ' + money.format(pago.reembolsado) : '') + '.')
  setText($('reembolsar-ayuda'), 'Vacío: se reembolsa todo lo que queda, ' + money.format(left) + '.')
  $('reembolsar-monto').placeholder = money.format(left)
  form.hidden = false
  form.scrollIntoView({ block: 'center' })
  $('reembolsar-monto').focus({ preventScroll: true })
}

/** Closes the refund form. */
export function closeRefundForm () {
  $('form-reembolsar').hidden = true
}

/** The refund form's events; `refresh` redraws the account after a request. */
export function wireReembolsos (refresh) {
  const form = $('form-reembolsar')
  form.addEventListener('submit', (e) => {
    e.preventDefault()
    const text = $('reembolsar-monto').value.trim()
    const monto = text === '' ? undefined : readAmount(text)
    if (text !== '' && monto === undefined) return markInvalidAmount($('reembolsar-monto'), { opcional: true })
    const motivo = $('reembolsar-motivo').value.trim()
    const usuarioId = state.usuarioId
    const pagoId = form.dataset.pagoId
    submit(form, async () => {
      const payload = {}
      if (monto !== undefined) payload.monto = monto
      if (motivo !== '') payload.motivo = motivo
      const r = await api('POST', '/usuarios/' + usuarioId + '/pagos/' + pagoId + '/reembolsos', payload, { 'idempotency-key': idempotencyKey(form) })
      const known = state.refunds.get(pagoId) ?? { reembolsado: -1, reembolsos: [] }
      known.reembolsos = [...known.reembolsos.filter((x) => x.id !== r.reembolso.id), r.reembolso]
      known.reembolsado = -1 // ask again on the next refresh
      state.refunds.set(pagoId, known)
      state.seenRefunds.set(r.reembolso.id, 'pendiente')
      state.pending = true
      closeRefundForm()
      notify('Reembolso de ' + money.format(r.reembolso.monto) + ' solicitado: pendiente.')
      await refresh()
    })
  })
  form.addEventListener('input', (e) => {
    delete form.dataset.idempotencia
    e.target.removeAttribute('aria-invalid')
  })
  $('reembolsar-cancelar').addEventListener('click', closeRefundForm)
}

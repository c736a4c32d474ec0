/*
 * Panel de pagos: plain JavaScript against the gateway's own JSON API, as ES
 * modules (no build step): api.js calls the gateway (errores.js words its
 * errors), health-panel.js, usuarios-table.js, cuenta-panel.js (with
 * reembolsos.js) and movimientos-panel.js each draw one part of the page,
 * forms.js holds what the forms share, and this entry wires the events and
 * runs the polling loop. importe.js (a classic script, loaded first) reads
 * amounts.
 *
 * Live updates by polling, not Server-Sent Events: EventSource can't send an
 * Authorization header (the API key would have to go in the URL, and from
 * there into logs), the gateway stays a thin proxy with no stream to hold
 * open per browser, and polling works unchanged across several instances.
 * It polls every second while a payment or a refund is pending, every 5 s otherwise, and
 * stops while the tab is hidden.
 */

import { api } from './api.js'
import { refreshCuenta, showScrollHint } from './cuenta-panel.js'
import { $, money, setText } from './dom.js'
import { isAccessText } from './errores.js'
import { idempotencyKey, markInvalidAmount, notify, readAmount, saveApiKey, showError, submit } from './forms.js'
import { refreshHealth, scheduleHealth } from './health-panel.js'
import { refreshMovimientos, resetMovimientos, wireMovimientos } from './movimientos-panel.js'
import { closeRefundForm, wireReembolsos } from './reembolsos.js'
import { FAST_MS, PAGE_SIZE, SLOW_MS, state } from './state.js'
import { refreshUsuarios } from './usuarios-table.js'

// ------------------------------------------------------------- loop

function choose (id, announce) {
  if (state.usuarioId !== id) {
    state.seen.clear()
    state.refunds.clear()
    state.seenRefunds.clear()
    resetMovimientos()
    closeRefundForm()
  }
  state.usuarioId = id
  if (location.hash !== '#usuario-' + id) history.replaceState(null, '', '#usuario-' + id)
  refresh().then(() => {
    if (announce) {
      notify('Cuenta de ' + $('cuenta-nombre').textContent + ' abierta.')
      // The whole account at the top of the screen (on a phone: its balance and forms), and the keyboard there.
      $('cuenta').scrollIntoView({ block: 'start' })
      $('t-cuenta').focus({ preventScroll: true })
    }
  })
}

async function refresh () {
  clearTimeout(state.timer)
  const results = await Promise.allSettled([refreshUsuarios(choose), refreshCuenta().then(refreshMovimientos)])
  const failure = results.find((r) => r.status === 'rejected')
  if (failure) showError(failure.reason)
  else {
    if (isAccessText($('error').textContent)) $('error').textContent = ''
    if (state.apiKey !== '') setText($('clave-estado'), 'Clave guardada para esta pestaña y aceptada por el gateway.')
  }
  schedule()
}

function schedule () {
  clearTimeout(state.timer)
  if (document.hidden) return
  state.timer = setTimeout(refresh, state.pending ? FAST_MS : SLOW_MS)
}

// ----------------------------------------------------------- events

$('form-clave').addEventListener('submit', (e) => {
  e.preventDefault()
  saveApiKey($('clave').value.trim())
  notify(state.apiKey === '' ? 'Clave olvidada.' : 'Clave guardada.')
  refresh()
})
$('olvidar-clave').addEventListener('click', () => {
  $('clave').value = ''
  saveApiKey('')
  notify('Clave olvidada.')
})

$('usuarios-anteriores').addEventListener('click', () => {
  state.offset = Math.max(0, state.offset - PAGE_SIZE)
  refresh()
})
$('usuarios-siguientes').addEventListener('click', () => {
  state.offset += PAGE_SIZE
  refresh()
})

$('form-crear').addEventListener('submit', (e) => {
  e.preventDefault()
  const form = e.currentTarget
  const nombre = $('crear-nombre').value.trim()
  const saldoText = $('crear-saldo').value.trim()
  const saldo = saldoText === '' ? 0 : readAmount(saldoText, { ceroValido: true, saldo: true })
  if (saldo === undefined) return markInvalidAmount($('crear-saldo'), { saldo: true })
  submit(form, async () => {
    const usuario = await api('POST', '/usuarios', { nombre, saldo })
    form.reset()
    notify('Usuario ' + usuario.nombre + ' creado con el id ' + usuario.id + '.')
    state.offset = Math.max(0, Math.floor((usuario.id - 1) / PAGE_SIZE) * PAGE_SIZE)
    choose(usuario.id, false)
  })
})

$('form-recargar').addEventListener('submit', (e) => {
  e.preventDefault()
  const form = e.currentTarget
  const monto = readAmount($('recargar-monto').value)
  if (monto === undefined) return markInvalidAmount($('recargar-monto'))
  const id = state.usuarioId
  submit(form, async () => {
    const r = await api('POST', '/usuarios/' + id + '/recargar', { monto }, { 'idempotency-key': idempotencyKey(form) })
    form.reset()
    notify('Recarga de ' + money.format(monto) + ' hecha. Saldo: ' + money.format(r.usuario.saldo) + '.')
    await refresh()
  })
})

$('form-pagar').addEventListener('submit', (e) => {
  e.preventDefault()
  const form = e.currentTarget
  const monto = readAmount($('pagar-monto').value)
  if (monto === undefined) return markInvalidAmount($('pagar-monto'))
  const concepto = $('pagar-concepto').value.trim()
  const id = state.usuarioId
  submit(form, async () => {
    const payload = concepto === '' ? { monto } : { monto, concepto }
    const r = await api('POST', '/usuarios/' + id + '/pagar', payload, { 'idempotency-key': idempotencyKey(form) })
    form.reset()
    state.seen.set(r.pago.id, 'pendiente')
    state.pending = true
    notify('Pago de ' + money.format(monto) + ' solicitado: pendiente. Saldo: ' + money.format(r.usuario.saldo) + '.')
    await refresh()
  })
})

// Editing an amount after a failed attempt is a new operation: a new Idempotency-Key.
for (const id of ['form-recargar', 'form-pagar']) {
  $(id).addEventListener('input', (e) => {
    delete e.currentTarget.dataset.idempotencia
    e.target.removeAttribute('aria-invalid')
  })
}
$('form-crear').addEventListener('input', (e) => e.target.removeAttribute('aria-invalid'))

wireReembolsos(refresh)
wireMovimientos()
window.addEventListener('resize', showScrollHint)

document.addEventListener('visibilitychange', () => {
  if (document.hidden) {
    clearTimeout(state.timer)
    clearTimeout(state.healthTimer)
  } else {
    refresh()
    refreshHealth().catch(() => {}).finally(scheduleHealth)
  }
})

// ------------------------------------------------------------ start

$('clave').value = state.apiKey
saveApiKey(state.apiKey)
const fromLink = /^#usuario-(\d+)$/.exec(location.hash)
if (fromLink) state.usuarioId = Number(fromLink[1])
refreshHealth().catch(() => {}).finally(scheduleHealth)
refresh()

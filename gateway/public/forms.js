/* What the forms share: the API key, messages to the user, amounts, and sending with an Idempotency-Key. */

import { ApiError } from './api.js'
import { $, money } from './dom.js'
import { API_KEY_ITEM, state } from './state.js'

/** Keeps the API key for this tab ('' forgets it) and says so on the page. */
export function saveApiKey (apiKey) {
  state.apiKey = apiKey
  try {
    if (apiKey === '') sessionStorage.removeItem(API_KEY_ITEM)
    else sessionStorage.setItem(API_KEY_ITEM, apiKey)
  } catch (err) { /* private mode: the key lives in memory only */ }
  $('clave-estado').textContent = apiKey === '' ? 'Sin clave.' : 'Clave guardada para esta pestaña.'
}

/**
 * What the page shows ("10.000.740,28") or what people type ("1234,56",
 * "12.5") → the JSON number to send; undefined when it is not a positive
 * amount with at most 2 decimals within the limits (importe.js).
 */
export function readAmount (text, options) {
  return window.Importe.leer(text, options)
}

/** A polite message (role=status); clears the error. */
export function notify (text) {
  $('error').textContent = ''
  $('aviso').textContent = text
}

/** An error message (role=alert); a missing key sends the focus to the key field. */
export function showError (err) {
  $('error').textContent = err instanceof ApiError || err instanceof Error ? err.message : String(err)
  if (err instanceof ApiError && err.status === 401) $('clave').focus()
}

/** Marks an amount field invalid, says what an amount may be, and focuses it. */
export function markInvalidAmount (input, { saldo = false } = {}) {
  input.setAttribute('aria-invalid', 'true')
  showError(new Error(saldo
    ? 'El saldo inicial debe ser 0 o un importe con como máximo 2 decimales, hasta ' + money.format(window.Importe.desdeCentimos(window.Importe.SALDO_MAXIMO_CENTIMOS)) + ' (por ejemplo 1.234,50).'
    : 'Escribe un importe mayor que 0 con como máximo 2 decimales, hasta ' + money.format(window.Importe.desdeCentimos(window.Importe.MONTO_MAXIMO_CENTIMOS)) + ' (por ejemplo 1.234,50 o 12.5).'))
  input.focus()
}

/** An Idempotency-Key for one intended operation, kept until it gets a definite answer. */
export function idempotencyKey (form) {
  if (!form.dataset.idempotencia) {
    const bytes = new Uint8Array(16)
    crypto.getRandomValues(bytes)
    form.dataset.idempotencia = 'panel-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
  }
  return form.dataset.idempotencia
}

/** Runs a form's action with its button busy; a definite answer (not a network error or 5xx) frees its Idempotency-Key. */
export async function submit (form, action) {
  const button = form.querySelector('button[type="submit"]')
  button.disabled = true
  form.setAttribute('aria-busy', 'true')
  try {
    await action()
    delete form.dataset.idempotencia
  } catch (err) {
    if (err instanceof ApiError && err.status > 0 && err.status < 500) delete form.dataset.idempotencia
    showError(err)
  } finally {
    button.disabled = false
    form.removeAttribute('aria-busy')
  }
}

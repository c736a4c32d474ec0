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
  $('clave-estado').textContent = apiKey === '' ? 'Sin clave.' : 'Clave guardada para esta pestaña; se comprueba en la próxima llamada.'
}

/**
 * What the page shows ("10.000.740,28") or what people type ("1234,56",
 * "12.5") → the JSON number to send; undefined when it is not a positive
 * amount with at most 2 decimals within the limits (importe.js).
 */
export function readAmount (text, options) {
  return window.Importe.leer(text, options)
}

/** Every error shown: the banner at the top and each form's own. */
function clearErrors () {
  for (const e of document.querySelectorAll('.error')) e.textContent = ''
}

/** A polite message (role=status); clears every error, so a notice never stands next to an old error. */
export function notify (text) {
  clearErrors()
  $('aviso').textContent = text
}

/** The error element of `form` (its `.error`, role=alert), if it has one. */
const errorOf = (form) => (form ? form.querySelector('.error') : null)

/**
 * An error message (role=alert). With `form`: next to that form, scrolled
 * into view and focused, so it is seen on a phone where the banner at the top
 * is far away. Either way the last success notice goes, so the two never
 * stand side by side. A key problem goes to the banner and the key field.
 */
export function showError (err, form) {
  const text = err instanceof Error ? err.message : String(err)
  $('aviso').textContent = ''
  const box = errorOf(form)
  if (box === null || (err instanceof ApiError && err.status === 401)) {
    // The polling loop repeats a failure every few seconds: the focus moves only when the message is new.
    const fresh = $('error').textContent !== text
    $('error').textContent = text
    if (err instanceof ApiError && err.status === 401) {
      if (state.apiKey !== '') $('clave-estado').textContent = 'El gateway rechazó la clave guardada.'
      if (fresh || form) $('clave').focus()
    }
    return
  }
  clearErrors()
  box.textContent = text
  box.focus({ preventScroll: true })
  box.scrollIntoView({ block: 'center' })
}

/** Marks an amount field invalid, says next to it what an amount may be, and focuses it. */
export function markInvalidAmount (input, { saldo = false, opcional = false } = {}) {
  input.setAttribute('aria-invalid', 'true')
  const limit = money.format(window.Importe.desdeCentimos(saldo ? window.Importe.SALDO_MAXIMO_CENTIMOS : window.Importe.MONTO_MAXIMO_CENTIMOS))
  showError(new Error(saldo
    ? 'El saldo inicial debe ser 0 o un importe con como máximo 2 decimales, hasta ' + limit + ' (por ejemplo 1.234,50).'
    : 'Escribe un importe mayor que 0 con como máximo 2 decimales, hasta ' + limit + ' (por ejemplo 1.234,50 o 12.5)' + (opcional ? ', o déjalo vacío.' : '.')), input.form)
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
  const box = errorOf(form)
  if (box !== null) box.textContent = ''
  button.disabled = true
  form.setAttribute('aria-busy', 'true')
  try {
    await action()
    delete form.dataset.idempotencia
  } catch (err) {
    if (err instanceof ApiError && err.status > 0 && err.status < 500) delete form.dataset.idempotencia
    showError(err, form)
  } finally {
    button.disabled = false
    form.removeAttribute('aria-busy')
  }
}

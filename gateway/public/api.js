/* The gateway's own JSON API, as the dashboard calls it (with the API key when one is kept). */

import { money } from './dom.js'
import { state } from './state.js'

/** A call that did not succeed: `status` (0 when the gateway is unreachable), a Spanish message for the page, the body. */
export class ApiError extends Error {
  constructor (status, message, body) {
    super(message)
    this.status = status
    this.body = body
  }
}

/** One call to the gateway: { status, body }. Never throws for an HTTP status; 0 when unreachable. */
export async function request (method, path, payload, extraHeaders) {
  const headers = Object.assign({ accept: 'application/json' }, extraHeaders)
  if (state.apiKey !== '') headers.authorization = 'Bearer ' + state.apiKey
  const init = { method, headers, cache: 'no-store' }
  if (payload !== undefined) {
    headers['content-type'] = 'application/json'
    init.body = JSON.stringify(payload)
  }
  let res
  try {
    res = await fetch(path, init)
  } catch (err) {
    return { status: 0, body: null }
  }
  const body = await res.json().catch(() => null)
  return { status: res.status, body }
}

/** The body of a 2xx answer; anything else throws an ApiError whose message the page shows as it is. */
export async function api (method, path, payload, extraHeaders) {
  const r = await request(method, path, payload, extraHeaders)
  if (r.status >= 200 && r.status < 300) return r.body
  if (r.status === 0) throw new ApiError(0, 'No hay conexión con el gateway.')
  if (r.status === 401) throw new ApiError(401, 'El gateway pide una clave de API: escríbela en «Clave de API» y guárdala.', r.body)
  const text = r.body && typeof r.body.error === 'string' ? r.body.error : 'Error HTTP ' + r.status
  // The API's Spanish detail names the field in backticks: «monto» reads better on a page.
  const detail = r.body && typeof r.body.detalle === 'string' ? ': ' + r.body.detalle.replace(/`([^`]*)`/g, '«$1»') : ''
  const ceiling = r.body && r.body.code === 'SALDO_MAXIMO_SUPERADO'
    ? ': el saldo máximo es ' + money.format(r.body.saldoMaximo) + (r.body.pendiente > 0 ? ', contando ' + money.format(r.body.pendiente) + ' en pagos pendientes' : '') + '.'
    : ''
  throw new ApiError(r.status, text + detail + ceiling, r.body)
}

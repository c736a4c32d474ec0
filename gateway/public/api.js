/* The gateway's own JSON API, as the dashboard calls it (with the API key when one is kept). */

import { dinero } from './dom.js'
import { estado } from './state.js'

/** A call that did not succeed: `status` (0 when the gateway is unreachable), a Spanish message for the page, the body. */
export class ErrorApi extends Error {
  constructor (status, message, body) {
    super(message)
    this.status = status
    this.body = body
  }
}

/** One call to the gateway: { status, body }. Never throws for an HTTP status; 0 when unreachable. */
export async function peticion (metodo, ruta, cuerpo, cabeceras) {
  const headers = Object.assign({ accept: 'application/json' }, cabeceras)
  if (estado.clave !== '') headers.authorization = 'Bearer ' + estado.clave
  const init = { method: metodo, headers, cache: 'no-store' }
  if (cuerpo !== undefined) {
    headers['content-type'] = 'application/json'
    init.body = JSON.stringify(cuerpo)
  }
  let res
  try {
    res = await fetch(ruta, init)
  } catch (err) {
    return { status: 0, body: null }
  }
  const body = await res.json().catch(() => null)
  return { status: res.status, body }
}

/** The body of a 2xx answer; anything else throws an ErrorApi whose message the page shows as it is. */
export async function api (metodo, ruta, cuerpo, cabeceras) {
  const r = await peticion(metodo, ruta, cuerpo, cabeceras)
  if (r.status >= 200 && r.status < 300) return r.body
  if (r.status === 0) throw new ErrorApi(0, 'No hay conexión con el gateway.')
  if (r.status === 401) throw new ErrorApi(401, 'El gateway pide una clave de API: escríbela en «Clave de API» y guárdala.', r.body)
  const texto = r.body && typeof r.body.error === 'string' ? r.body.error : 'Error HTTP ' + r.status
  // The API's Spanish detail names the field in backticks: «monto» reads better on a page.
  const detalle = r.body && typeof r.body.detalle === 'string' ? ': ' + r.body.detalle.replace(/`([^`]*)`/g, '«$1»') : ''
  const tope = r.body && r.body.code === 'SALDO_MAXIMO_SUPERADO'
    ? ': el saldo máximo es ' + dinero.format(r.body.saldoMaximo) + (r.body.pendiente > 0 ? ', contando ' + dinero.format(r.body.pendiente) + ' en pagos pendientes' : '') + '.'
    : ''
  throw new ErrorApi(r.status, texto + detalle + tope, r.body)
}

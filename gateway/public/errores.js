/*
 * The Spanish sentence the page shows for an answer that did not succeed:
 * pure (no DOM), so test/unit/dashboard-errores.test.ts runs it as it is.
 * A 409 names the figures the API returns with it (saldo, monto, what is
 * left to refund), and a 401 tells a missing key from a wrong one.
 */

import { money } from './dom.js'

const fmt = (n) => (typeof n === 'number' ? money.format(n) : '—')

/** What a 409 body adds to its error, by its code. */
function figures (body) {
  switch (body.code) {
    case 'SALDO_INSUFICIENTE':
      return ': el saldo es ' + fmt(body.saldo) + ' y el importe pedido ' + fmt(body.monto) + '.'
    case 'SALDO_MAXIMO_SUPERADO':
      return ': el saldo máximo es ' + fmt(body.saldoMaximo) + (body.pendiente > 0 ? ', contando ' + fmt(body.pendiente) + ' en pagos pendientes' : '') + '.'
    case 'REEMBOLSO_EXCEDE_PAGO':
      return (body.monto === null ? '' : ': pides ' + fmt(body.monto)) + (body.monto === null ? ': ' : ' y ') + 'queda ' + fmt(body.reembolsable) + ' por reembolsar.'
    case 'PAGO_NO_REEMBOLSABLE':
      return ': está ' + body.estado + '; solo se reembolsa un pago completado.'
    default:
      return ''
  }
}

/**
 * The message for `status` (0: the gateway is unreachable) and its JSON
 * body; `keySent`: whether the call carried an API key.
 */
export function errorText (status, body, keySent) {
  if (status === 0) return 'No hay conexión con el gateway.'
  if (status === 401) {
    return keySent
      ? 'El gateway rechaza la clave de API guardada: no es válida. Escribe la correcta en «Clave de API» y guárdala.'
      : 'El gateway pide una clave de API: escríbela en «Clave de API» y guárdala.'
  }
  const b = body !== null && typeof body === 'object' ? body : {}
  const text = typeof b.error === 'string' ? b.error : 'Error HTTP ' + status
  // The API's Spanish detail names the field in backticks: «monto» reads better on a page.
  const detail = typeof b.detalle === 'string' ? ': ' + b.detalle.replace(/`([^`]*)`/g, '«$1»') : ''
  return text + detail + figures(b)
}

/** Whether a message is one of the connection or key messages above (cleared once calls succeed again). */
export function isAccessText (text) {
  return text.startsWith('No hay conexión') || text.startsWith('El gateway pide') || text.startsWith('El gateway rechaza')
}

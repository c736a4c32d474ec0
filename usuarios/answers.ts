import type { PagarResponse, RecargarResponse, SaldoInsuficiente, SaldoMaximoSuperado } from '../contracts/http/usuarios.js'
import { fromCentimos, SALDO_MAXIMO } from '../contracts/money.js'
import { SaldoInsuficienteError, SaldoMaximoSuperadoError } from './errors.js'
import type { Accepted, InsufficientFunds, SaldoMaximoExceeded, ToppedUp } from './store/outcomes.js'

/*
 * The HTTP answer (status and JSON body) of each outcome of pagar and
 * recargar that an Idempotency-Key remembers. Routes send it; the stores
 * keep it under the key in the same transaction (store/idempotency.ts), so a
 * retry gets the very answer first sent. Bodies are built in the key order
 * rows have always been stored in.
 */

export type PagarAnswer = { status: 202, body: PagarResponse } | { status: 409, body: SaldoInsuficiente }
export type RecargarAnswer = { status: 200, body: RecargarResponse } | { status: 409, body: SaldoMaximoSuperado }

/** 202 with the usuario (already debited) and the pendiente payment; 409 SALDO_INSUFICIENTE with `saldo` and `monto` in money. */
export function pagarAnswer (outcome: Accepted | InsufficientFunds): PagarAnswer {
  if (outcome.kind === 'accepted') {
    return { status: 202, body: { mensaje: 'Solicitud de pago enviada', usuario: outcome.usuario, pago: outcome.pago } }
  }
  const e = new SaldoInsuficienteError()
  return {
    status: 409,
    body: { error: e.message as 'Saldo insuficiente', code: e.code, saldo: fromCentimos(outcome.saldoCentimos), monto: fromCentimos(outcome.montoCentimos) }
  }
}

/** 200 with the usuario and the top-up; 409 SALDO_MAXIMO_SUPERADO with the figures in money. */
export function recargarAnswer (outcome: ToppedUp | SaldoMaximoExceeded): RecargarAnswer {
  if (outcome.kind === 'topped-up') {
    return { status: 200, body: { mensaje: 'Recarga realizada', usuario: outcome.usuario, recarga: outcome.recarga } }
  }
  const e = new SaldoMaximoSuperadoError()
  return {
    status: 409,
    body: {
      error: e.message as 'El saldo superaría el máximo permitido',
      code: e.code as 'SALDO_MAXIMO_SUPERADO',
      saldo: fromCentimos(outcome.saldoCentimos),
      pendiente: fromCentimos(outcome.pendienteCentimos),
      monto: fromCentimos(outcome.montoCentimos),
      saldoMaximo: SALDO_MAXIMO
    }
  }
}

import type { PagoNoReembolsable, ReembolsarResponse, ReembolsoExcedePago } from '../contracts/http/reembolsos.js'
import type { PagarResponse, RecargarResponse, SaldoInsuficiente, SaldoMaximoSuperado } from '../contracts/http/usuarios.js'
import { fromCentimos, SALDO_MAXIMO } from '../contracts/money.js'
import { PagoNoReembolsableError, ReembolsoExcedePagoError, SaldoInsuficienteError, SaldoMaximoSuperadoError } from './errors.js'
import type { Accepted, InsufficientFunds, SaldoMaximoExceeded, ToppedUp } from './store/outcomes.js'
import type { PagoNotRefundable, RefundAccepted, RefundExceedsPago } from './store/reembolsos-outcomes.js'

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
  return saldoMaximoAnswer(outcome)
}

/** 409 SALDO_MAXIMO_SUPERADO with the figures in money (a top-up, or a refund, that would pass the ceiling). */
function saldoMaximoAnswer (outcome: SaldoMaximoExceeded): { status: 409, body: SaldoMaximoSuperado } {
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

export type ReembolsarAnswer =
  | { status: 202, body: ReembolsarResponse }
  | { status: 409, body: PagoNoReembolsable | ReembolsoExcedePago | SaldoMaximoSuperado }

/** 202 with the refund `pendiente`; 409 PAGO_NO_REEMBOLSABLE, REEMBOLSO_EXCEDE_PAGO (with `reembolsable`, money) or SALDO_MAXIMO_SUPERADO. */
export function reembolsarAnswer (outcome: RefundAccepted | PagoNotRefundable | RefundExceedsPago | SaldoMaximoExceeded): ReembolsarAnswer {
  switch (outcome.kind) {
    case 'accepted':
      return { status: 202, body: { mensaje: 'Solicitud de reembolso enviada', reembolso: outcome.reembolso } }
    case 'not-refundable': {
      const e = new PagoNoReembolsableError()
      return { status: 409, body: { error: e.message as PagoNoReembolsable['error'], code: 'PAGO_NO_REEMBOLSABLE', estado: outcome.estado, reembolsable: fromCentimos(outcome.reembolsableCentimos) } }
    }
    case 'exceeds': {
      const e = new ReembolsoExcedePagoError()
      return {
        status: 409,
        body: {
          error: e.message as ReembolsoExcedePago['error'],
          code: 'REEMBOLSO_EXCEDE_PAGO',
          monto: outcome.montoCentimos === null ? null : fromCentimos(outcome.montoCentimos),
          reembolsable: fromCentimos(outcome.reembolsableCentimos)
        }
      }
    }
    default:
      return saldoMaximoAnswer(outcome)
  }
}

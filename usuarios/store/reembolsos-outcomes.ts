import type { EstadoPago } from '../../contracts/http/common.js'
import type { Reembolso } from '../../contracts/http/reembolsos.js'
import type { SaldoMaximoExceeded } from './outcomes.js'
import type { KeyReused, Replayed } from './idempotency.js'

/*
 * What the refunds store (reembolsos-store.ts) answers, apart from it so
 * that usuarios/answers.ts can name them without importing the store that
 * imports it. Amounts are integer cents.
 */

export interface RefundAccepted { kind: 'accepted', reembolso: Reembolso }
/** The payment is not `completado`: nothing can be refunded (reembolsable 0). */
export interface PagoNotRefundable { kind: 'not-refundable', estado: EstadoPago, reembolsableCentimos: number }
/** More than what is left (`montoCentimos` null: none asked for and nothing left). */
export interface RefundExceedsPago { kind: 'exceeds', montoCentimos: number | null, reembolsableCentimos: number }
export interface UsuarioNotFound { kind: 'usuario-not-found' }
export interface PagoNotFound { kind: 'pago-not-found' }

export type ReembolsarOutcome = RefundAccepted | PagoNotRefundable | RefundExceedsPago | SaldoMaximoExceeded | UsuarioNotFound | PagoNotFound | Replayed | KeyReused

/** What consuming a `reembolso.procesado` did; a refused one is dead-lettered with its reason. */
export type ApplyReembolsoOutcome = { kind: 'applied' | 'duplicate' } | { kind: 'refused', reason: string }

import type { PagoAceptado, RecargarResponse, Usuario } from '../../contracts/http/usuarios.js'

/*
 * What a usuarios store operation did, as the domain says it: routes and
 * usuarios/answers.ts turn these into HTTP; stores never speak HTTP.
 */

/** Debited and recorded `pendiente`; `usuario` shows the balance after the debit (API views, money). */
export interface Accepted { kind: 'accepted', usuario: Usuario, pago: PagoAceptado }
/** The balance does not cover the amount (both integer cents): nothing changed. */
export interface InsufficientFunds { kind: 'insufficient-funds', saldoCentimos: number, montoCentimos: number }
export interface UsuarioNotFound { kind: 'usuario-not-found' }
/** Topped up; `usuario` shows the new balance (API views, money). */
export interface ToppedUp { kind: 'topped-up', usuario: Usuario, recarga: RecargarResponse['recarga'] }
/** saldo + pending payments + monto would pass SALDO_MAXIMO (all integer cents): nothing changed. */
export interface SaldoMaximoExceeded { kind: 'saldo-maximo-exceeded', saldoCentimos: number, pendienteCentimos: number, montoCentimos: number }

import { MONTO_MAXIMO, SALDO_MAXIMO, mensajeImporte } from '../money.js'

/*
 * How the API words the refusal of each of its fields that a schema keyword
 * alone cannot explain (lib/http/validation.ts builds every `detalle` from
 * these and the failed keyword). Spanish, as the API.
 */

/** Every error on a money field says the money rule, whatever keyword failed (type, maximum, decimals). */
export const MONEY: Record<string, string> = {
  monto: mensajeImporte('monto', { maximo: MONTO_MAXIMO }),
  saldo: mensajeImporte('saldo', { cero: true, maximo: SALDO_MAXIMO })
}

/** What a `pattern` means, by field (paths, queries, headers). */
export const PATTERNS: Record<string, string> = {
  usuarioId: 'debe ser un id numérico de usuario (1, 2, …)',
  usuario: 'debe ser un id numérico de usuario (1, 2, …)',
  limit: 'debe ser un número entero de 1 a 100',
  offset: 'debe ser un número entero de 0 a 999999999',
  'Idempotency-Key': 'solo admite caracteres ASCII visibles, sin espacios (1 a 200)'
}

/** Header names as the API documents them (Node lower-cases them). */
export const HEADER_NAMES: Record<string, string> = { 'idempotency-key': 'Idempotency-Key', 'content-type': 'Content-Type' }

import { Type } from 'typebox'

/**
 * Money travels as a JSON number with at most 2 decimals and is stored as
 * integer cents: the JSON number is turned into cents once, exactly, and all
 * arithmetic after that is on integers.
 */
export const MONTO_MAXIMO = 1_000_000_000

/** Exact: 0.29 passes; 0.3000000001, which a tolerance-based multipleOf lets through, does not. */
export function hasAtMostTwoDecimals (n: number): boolean {
  return Math.round(n * 100) / 100 === n
}

export function montoSchema (options: { default?: number, description?: string } = {}) {
  return Type.Refine(Type.Number({
    exclusiveMinimum: 0,
    maximum: MONTO_MAXIMO,
    multipleOf: 0.01,
    description: 'Importe positivo con como máximo 2 decimales',
    examples: [25, 12.5],
    ...options
  }), hasAtMostTwoDecimals, () => 'must have at most 2 decimals')
}
export const MontoSchema = montoSchema()

export const SaldoSchema = Type.Number({
  minimum: 0,
  multipleOf: 0.01,
  description: 'Saldo en la moneda de la cuenta, con como máximo 2 decimales',
  examples: [500]
})

/** Converts a validated amount to integer cents. */
export function toCentimos (monto: number): number {
  const centimos = Math.round(monto * 100)
  if (!Number.isSafeInteger(centimos) || centimos / 100 !== monto) {
    throw new RangeError(`monto ${monto} is not a whole number of cents`)
  }
  return centimos
}

/** Shows integer cents as the API's JSON number (500, 12.5, 0.29). */
export function fromCentimos (centimos: number): number {
  return centimos / 100
}

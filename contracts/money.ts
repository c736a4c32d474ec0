import { Type } from 'typebox'

/*
 * Money travels as a JSON number with at most 2 decimals and is stored as
 * integer cents. One rule decides what is money, everywhere (HTTP bodies,
 * configuration, the dashboard's copy in gateway/public/importe.js): the
 * number's own decimal digits — its shortest round-trip form, `String(n)`,
 * which is the text a JSON reader gives back for it — have at most 2
 * decimals, and the cents are made from those digits in integer arithmetic.
 * No float division or tolerance decides it (TypeBox's `multipleOf: 0.01`
 * does, with a 1e-10 tolerance on a float remainder, and refused about two
 * thirds of the valid amounts above 2^20).
 */

/** The largest amount of one payment or top-up, in money (10^11 cents). */
export const MONTO_MAXIMO = 1_000_000_000
export const MONTO_MAXIMO_CENTIMOS = 100_000_000_000

/**
 * The largest balance, in money (10^12 cents). Well inside 2^53 cents
 * (about 9.007 * 10^15): a balance plus the largest amount is exact in a JS
 * number, as is the sum of about 9,000 balances at the ceiling (totals,
 * counters); and with at most 13 significant digits every balance is a JSON
 * number that any reader using doubles (15 significant digits) reads back
 * to the cent. A top-up, or an initial balance, that would pass it is
 * refused; see usuarios/store/cuentas-store.ts for how pending payments count.
 */
export const SALDO_MAXIMO = 10_000_000_000
export const SALDO_MAXIMO_CENTIMOS = 1_000_000_000_000

/** Digits of the integer part allowed before the cents would leave the safe integers. */
const MAX_INTEGER_DIGITS = 13

/**
 * The exact number of cents of `n` when it is a finite number with at most
 * 2 decimals (in its shortest decimal form); undefined otherwise (NaN,
 * ±Infinity, 0.001, 0.30000000000000004, or 10^13 and above, whose cents
 * would not be safe integers). The sign is kept: -12.5 → -1250.
 */
export function centimosExactos (n: unknown): number | undefined {
  if (typeof n !== 'number' || !Number.isFinite(n)) return undefined
  // Exponent forms are below 1e-6 (more than 2 decimals) or at least 1e21.
  const m = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(String(n))
  if (m === null) return undefined
  const [, sign, whole, fraction = ''] = m as unknown as [string, string, string, string | undefined]
  if (whole.length > MAX_INTEGER_DIGITS) return undefined
  const centimos = Number(whole) * 100 + Number(fraction.padEnd(2, '0'))
  return sign === '-' && centimos !== 0 ? -centimos : centimos
}

/** Exact: 0.29 and 1234567.89 pass; 0.3000000001 and 0.30000000000000004 do not. */
export function hasAtMostTwoDecimals (n: number): boolean {
  return centimosExactos(n) !== undefined
}

/** An amount: money, more than 0, at most `maximoCentimos`. */
export function esImporte (n: unknown, maximoCentimos = MONTO_MAXIMO_CENTIMOS): boolean {
  const c = centimosExactos(n)
  return c !== undefined && c > 0 && c <= maximoCentimos
}

/** What a client sees when a money field is refused (`campo` names it). */
export function mensajeImporte (campo: string, opts: { cero?: boolean, maximo?: number } = {}): string {
  const desde = opts.cero === true ? 'mayor o igual que 0' : 'mayor que 0'
  return `\`${campo}\` debe ser un número ${desde} con como máximo 2 decimales, hasta ${opts.maximo ?? MONTO_MAXIMO} (por ejemplo 12.5)`
}

/**
 * An amount in an API body or the configuration. Validation is the exact
 * rule (a refinement); `exclusiveMinimum` and `maximum` are exact float
 * comparisons and document the limits in OpenAPI, and the description
 * states the 2-decimal rule instead of a `multipleOf` that a validator would
 * check with float division.
 */
export function montoSchema (options: { default?: number, description?: string, campo?: string } = {}) {
  const { campo = 'monto', ...rest } = options
  return Type.Refine(Type.Number({
    exclusiveMinimum: 0,
    maximum: MONTO_MAXIMO,
    description: `Importe positivo con como máximo 2 decimales (céntimos exactos), de 0.01 a ${MONTO_MAXIMO}`,
    examples: [25, 12.5],
    ...rest
  }), (n) => esImporte(n), () => mensajeImporte(campo))
}
export const MontoSchema = montoSchema()

/** An initial balance: 0 or an amount with at most 2 decimals, up to SALDO_MAXIMO. */
export const SaldoInicialSchema = Type.Refine(Type.Number({
  minimum: 0,
  maximum: SALDO_MAXIMO,
  description: `Saldo inicial, con como máximo 2 decimales, de 0 a ${SALDO_MAXIMO} (0 por defecto)`,
  examples: [50]
}), (n) => { const c = centimosExactos(n); return c !== undefined && c >= 0 && c <= SALDO_MAXIMO_CENTIMOS }, () => mensajeImporte('saldo', { cero: true, maximo: SALDO_MAXIMO }))

/** A balance as the API shows it (responses only). */
export const SaldoSchema = Type.Number({
  minimum: 0,
  maximum: SALDO_MAXIMO,
  description: `Saldo en la moneda de la cuenta, con como máximo 2 decimales; nunca pasa de ${SALDO_MAXIMO}`,
  examples: [500]
})

/** Converts a validated amount to integer cents; a RangeError if it is not a whole number of cents. */
export function toCentimos (monto: number): number {
  const centimos = centimosExactos(monto)
  if (centimos === undefined) throw new RangeError(`monto ${monto} is not a whole number of cents`)
  return centimos
}

/**
 * Shows integer cents as the API's JSON number (500, 12.5, 0.29): the
 * decimal text is built from the integer's digits and read once, so the
 * number is the one a JSON reader gets for that text. Exact or refused: a
 * RangeError when the cents are not a safe integer or their number would
 * not read back as the same cents (beyond about 10^15 cents, where doubles
 * are too sparse for 2 decimals; every balance within SALDO_MAXIMO is far
 * below).
 */
export function fromCentimos (centimos: number): number {
  if (!Number.isSafeInteger(centimos)) throw new RangeError(`centimos ${centimos} is not a safe integer`)
  const digits = String(Math.abs(centimos)).padStart(3, '0')
  const text = `${digits.slice(0, -2)}.${digits.slice(-2)}`
  const n = centimos < 0 ? -Number(text) : Number(text)
  if (centimosExactos(n) !== centimos) throw new RangeError(`centimos ${centimos} cannot be shown exactly as a JSON number`)
  return n
}

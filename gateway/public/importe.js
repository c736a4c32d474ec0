/*
 * Amounts as the dashboard reads them: what the page itself shows
 * ("10.000.740,28", es-ES) and what people type ("1234,56", "12.5", "1.000").
 * The same rule as the API (contracts/money.ts): at most 2 decimals, decided
 * on the digits — the amount becomes integer cents by string and integer
 * arithmetic, never by float division — then the JSON number for those cents.
 * A classic script, loaded before app.js and its modules; exposes `Importe`
 * (test/unit/dashboard-importe.test.ts runs this file as it is).
 */
(function (global) {
  'use strict'

  const MONTO_MAXIMO_CENTIMOS = 100000000000 // 1.000.000.000,00
  const SALDO_MAXIMO_CENTIMOS = 1000000000000 // 10.000.000.000,00

  // A decimal comma; points group thousands (es-ES) — or a decimal point
  // when no comma is present and 1 or 2 digits follow it. Spaces (also the
  // non-breaking ones some locales group with) are ignored.
  const CON_COMA = /^(\d{1,3}(?:\.\d{3})+|\d+),(\d{1,2})$/
  const AGRUPADO = /^\d{1,3}(?:\.\d{3})+$/
  const SIMPLE = /^(\d+)(?:[.,](\d{1,2}))?$/

  /**
   * Integer cents of a typed amount, or undefined when it is not an amount
   * with at most 2 decimals: "10.000.740,28" → 1000074028, "12.5" → 1250,
   * "1.000" → 100000 (three digits after a point are thousands: a third
   * decimal is never valid), "12,345" → undefined.
   */
  function centimos (texto) {
    const limpio = String(texto).replace(/[\s\u00a0\u202f]/g, '')
    let entero
    let fraccion = ''
    let m = CON_COMA.exec(limpio)
    if (m) {
      entero = m[1].replace(/\./g, '')
      fraccion = m[2]
    } else if (AGRUPADO.test(limpio)) {
      entero = limpio.replace(/\./g, '')
    } else if ((m = SIMPLE.exec(limpio))) {
      entero = m[1]
      fraccion = m[2] || ''
    } else {
      return undefined
    }
    entero = entero.replace(/^0+(?=\d)/, '')
    if (entero.length > 13) return undefined
    return Number(entero) * 100 + Number(fraccion.padEnd(2, '0'))
  }

  /** The JSON number for integer cents, built from the digits: 1000074028 → 10000740.28. */
  function desdeCentimos (c) {
    const d = String(c).padStart(3, '0')
    return Number(d.slice(0, -2) + '.' + d.slice(-2))
  }

  /**
   * The amount to send, or undefined: positive (or 0 when `ceroValido`), at
   * most the largest amount (an initial balance: at most the largest balance).
   */
  function leer (texto, opciones) {
    const cero = Boolean(opciones && opciones.ceroValido)
    const maximo = opciones && opciones.saldo ? SALDO_MAXIMO_CENTIMOS : MONTO_MAXIMO_CENTIMOS
    const c = centimos(texto)
    if (c === undefined || c > maximo || (c === 0 && !cero)) return undefined
    return desdeCentimos(c)
  }

  global.Importe = { centimos, leer, desdeCentimos, MONTO_MAXIMO_CENTIMOS, SALDO_MAXIMO_CENTIMOS }
})(typeof window !== 'undefined' ? window : globalThis)

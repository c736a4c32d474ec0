/*
 * The account statement's invariant, checked in one place: by the store
 * tests (SQLite and PostgreSQL, under concurrency), the property test and
 * the workload's verify (the chaos run and the fault tests).
 */

import type { Movimiento } from '../contracts/http/movimientos.js'
import { toCentimos } from '../contracts/money.js'

/** One movement as the check needs it: integer cents, ISO 8601 `fecha`. */
export interface StatementRow {
  id: number
  tipo: string
  montoCentimos: number
  saldoCentimos: number
  fecha: string
}

/**
 * What is wrong with a usuario's statement, in words (empty: nothing).
 * `movimientos` in any order (all of them); `saldoCentimos` the usuario's
 * saldo now, read at a quiet moment. The invariant:
 *  - exactly one `alta`, the first movement;
 *  - ids strictly increasing (they order the statement; `fecha` is the clock of
 *    the instance that wrote the movement, so with several instances two
 *    close movements may carry dates a few ms out of id order — not checked);
 *  - each row's saldo is the running sum of the montos up to it, never negative;
 *  - the sum of all montos (the last row's saldo) is the saldo.
 */
export function checkStatement (movimientos: StatementRow[], saldoCentimos: number): string[] {
  const rows = [...movimientos].sort((a, b) => a.id - b.id)
  const v: string[] = []
  if (rows.length === 0) return [`no movements, saldo ${saldoCentimos}`]
  if (rows[0]!.tipo !== 'alta') v.push(`first movement ${rows[0]!.id} is ${rows[0]!.tipo}, not alta`)
  const altas = rows.filter((r) => r.tipo === 'alta').length
  if (altas !== 1) v.push(`${altas} alta movements`)
  let sum = 0
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!
    const prev = rows[i - 1]
    if (prev !== undefined && prev.id === r.id) v.push(`movement ${r.id} listed twice`)
    sum += r.montoCentimos
    if (r.saldoCentimos !== sum) v.push(`movement ${r.id} (${r.tipo} ${r.montoCentimos}): saldo ${r.saldoCentimos} != running sum ${sum}`)
    if (r.saldoCentimos < 0) v.push(`movement ${r.id}: negative saldo ${r.saldoCentimos}`)
  }
  if (sum !== saldoCentimos) v.push(`movements add up to ${sum}, saldo is ${saldoCentimos}`)
  return v
}

/** A movement as the API shows it (money) as the check reads it (cents; a RangeError for money that is not whole cents). */
export function statementRow (m: Movimiento): StatementRow {
  return { id: m.id, tipo: m.tipo, montoCentimos: toCentimos(m.monto), saldoCentimos: toCentimos(m.saldo), fecha: m.fecha }
}

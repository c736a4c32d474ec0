import type { Selectable } from 'kysely'
import type { PagoProcesadoV1 } from '../../contracts/messages.js'
import { insertOutboxRow } from '../../lib/storage/outbox-claim.js'
import type { SqliteStatements } from '../../lib/storage/sqlite.js'
import type { Accepted } from './outcomes.js'
import type { UsuariosTable } from './schema.js'
import type { Debito } from './one-statement.js'
import { pagoPendienteRow, pagoSolicitadoRow, toPagoAceptado, toUsuario } from './views.js'

/*
 * SQLite only: the two hot steps of a payment in usuarios as hand-written
 * statements, run synchronously inside a unit of work of the group commit
 * (the caller's transaction), instead of a Kysely query per statement
 * (lib/storage/sqlite.ts says why). Each does the common case only and
 * writes exactly what the Kysely transaction of cuenta-pagos-store.ts
 * writes for it; when the common case does not hold they write nothing and
 * answer undefined or false, and that transaction (same unit, same guards)
 * finds out why. one-statement.ts is the same idea for PostgreSQL.
 *
 * Amounts are integer cents, cast to 64-bit integers in SQL: better-sqlite3
 * binds JS numbers as doubles (the same casts as centimosSql in lib/storage/db.ts).
 */

const DEBITAR = `update usuarios set saldo_centimos = saldo_centimos - cast(? as integer)
  where id = ? and saldo_centimos >= cast(? as integer)
  returning id, nombre, saldo_centimos, saldo_inicial_centimos, creado_en`
const REGISTRAR_PAGO = `insert into pagos (id, usuario_id, monto_centimos, concepto, estado, motivo, correlation_id, creado_en, actualizado_en, reenviado_en)
  values (?, ?, cast(? as integer), ?, 'pendiente', null, ?, ?, ?, null)`
const MOVIMIENTO = `insert into movimientos (usuario_id, tipo, monto_centimos, saldo_centimos, referencia, creado_en)
  values (?, 'pago', cast(? as integer), cast(? as integer), ?, ?)`
const COMPLETAR = `update pagos set estado = 'completado', motivo = ?, actualizado_en = ?
  where id = ? and estado = 'pendiente' and usuario_id = ? and monto_centimos = cast(? as integer)`

/**
 * Debits the usuario if the saldo covers the amount and records the payment
 * `pendiente` with its `pago` movement and its `pago.solicitado` outbox row
 * (one UPDATE and three INSERTs). Undefined when the guarded UPDATE matched
 * no row (no such usuario, or a saldo that does not cover it): nothing was
 * written. Must run inside a unit of work of the group commit.
 */
export function debitarEnSqlite (st: SqliteStatements, s: Debito): Accepted | undefined {
  const usuario = st.statement(DEBITAR).get(s.montoCentimos, s.usuarioId, s.montoCentimos) as Selectable<UsuariosTable> | undefined
  if (usuario === undefined) return undefined
  const now = new Date().toISOString()
  const pago = pagoPendienteRow(s, now)
  st.statement(REGISTRAR_PAGO).run(pago.id, pago.usuario_id, pago.monto_centimos, pago.concepto, pago.correlation_id, now, now)
  st.statement(MOVIMIENTO).run(s.usuarioId, -s.montoCentimos, usuario.saldo_centimos, pago.id, now)
  insertOutboxRow(st, pagoSolicitadoRow(pago))
  return { kind: 'accepted', usuario: toUsuario(usuario), pago: toPagoAceptado(pago) }
}

/**
 * A `completado` result for a payment still `pendiente` whose usuario and
 * amount match: completes it (one guarded UPDATE) and answers true. False
 * when it matched no row (unknown, mismatched, already settled): nothing was
 * written. Must run inside a unit of work of the group commit.
 */
export function completarEnSqlite (st: SqliteStatements, m: PagoProcesadoV1): boolean {
  return st.statement(COMPLETAR).run(m.motivo, new Date().toISOString(), m.pagoId, m.usuarioId, m.montoCentimos).changes === 1
}

import type { PagoSolicitadoV1 } from '../../contracts/messages.js'
import { outboxRow } from '../../lib/messaging/outbox-relay.js'
import { insertOutboxRow } from '../../lib/storage/outbox-claim.js'
import type { SqliteStatements } from '../../lib/storage/sqlite.js'
import type { ProviderResult } from '../processor.js'

/*
 * SQLite only: pagos' hot statements written by hand and run synchronously
 * (lib/storage/sqlite.ts says why); procesados-store.ts's PostgreSQL path
 * does the same in one statement per turn. Amounts are integer cents, cast
 * to 64-bit integers in SQL (better-sqlite3 binds JS numbers as doubles).
 */

const REGISTRAR = `insert into pagos (id, usuario_id, monto_centimos, concepto, estado, motivo, correlation_id, recibido_en, procesado_en)
  values (?, ?, cast(? as integer), ?, ?, ?, ?, ?, ?) on conflict (id) do nothing`
const REGISTRADO = 'select 1 from pagos where id = ?'

/**
 * Records the provider's result for the payment and its `pago.procesado`
 * outbox row, once per payment id: true if this call recorded it, false
 * (nothing written) if the payment was already recorded. Must run inside a
 * unit of work of the group commit (its transaction).
 */
export function registrarEnSqlite (st: SqliteStatements, s: PagoSolicitadoV1, r: ProviderResult, correlationId: string | null, recibidoEn: string): boolean {
  const procesadoEn = new Date().toISOString()
  const inserted = st.statement(REGISTRAR).run(s.pagoId, s.usuarioId, s.montoCentimos, s.concepto, r.estado, r.motivo, correlationId, recibidoEn, procesadoEn).changes === 1
  if (!inserted) return false
  insertOutboxRow(st, outboxRow('pago.procesado', {
    tipo: 'pago.procesado', version: 1, pagoId: s.pagoId, usuarioId: s.usuarioId, montoCentimos: s.montoCentimos, estado: r.estado, motivo: r.motivo, procesadoEn
  }, { messageId: s.pagoId, correlationId }))
  return true
}

/**
 * Whether pagos has recorded `pagoId`. A read outside any unit of work: it
 * sees what the group commit in progress (if any) wrote so far, so a true
 * may be a row not yet committed; callers use it only to choose a path whose
 * own transaction looks again (procesados-store.ts republish).
 */
export function registradoEnSqlite (st: SqliteStatements, pagoId: string): boolean {
  return st.statement(REGISTRADO).get(pagoId) !== undefined
}

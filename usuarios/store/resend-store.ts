import { sql } from 'kysely'
import { hasRowLocks } from '../../lib/storage/db.js'
import { createTransact } from '../../lib/storage/group-commit.js'
import type { UsuariosDb } from './schema.js'
import { pagoSolicitadoRow, reembolsoSolicitadoRow } from './views.js'

/**
 * Payments that stay `pendiente` too long: pagos never got the request, its
 * answer was lost (a broker that lost messages, a restore of snapshots taken
 * at different moments), or it is still on its way. Asking again is safe:
 * pagos is idempotent by payment id and answers a repeated request with the
 * result it recorded; usuarios applies a repeated result as a no-op.
 */
export function createResendStore (db: UsuariosDb, onOutbox: () => void, transact = createTransact(db)) {
  return {
    /**
     * One transaction: marks up to `batch` payments pendiente for at least
     * `boundMs` since they were created or last re-sent (`reenviado_en`), and
     * writes a `pago.solicitado` for each to the outbox, with the same payment
     * id (messageId), payload and correlation id as the first one. A payment
     * whose request still waits in the outbox is skipped (the broker is away:
     * one copy is enough). The UPDATE re-checks its guard, and on PostgreSQL
     * the candidates are claimed with `FOR UPDATE SKIP LOCKED`: instances
     * sweeping at once re-send each payment once, and a payment is re-sent at
     * most once per `boundMs`. Refunds still `pendiente` are re-sent the
     * same way (`reembolso.solicitado`, up to `batch` more). Resolves with
     * the number re-sent.
     */
    async resendOverdue (boundMs: number, batch: number): Promise<number> {
      const now = new Date()
      const cutoff = new Date(now.getTime() - boundMs).toISOString()
      // Still pendiente past the bound, and its request not waiting in the outbox already.
      const overdueIn = (table: 'pagos' | 'reembolsos', tipo: 'pago.solicitado' | 'reembolso.solicitado') =>
        sql<boolean>`estado = 'pendiente' and coalesce(reenviado_en, creado_en) < ${cutoff}
          and not exists (select 1 from outbox o where o.message_id = ${sql.ref(`${table}.id`)} and o.tipo = ${tipo})`
      const overdue = overdueIn('pagos', 'pago.solicitado')
      const rows = await transact(async (trx) => {
        let candidates = trx.selectFrom('pagos').select('id').where(overdue).orderBy('creado_en').limit(batch)
        if (hasRowLocks(trx)) candidates = candidates.forUpdate().skipLocked()
        const marked = await trx.updateTable('pagos')
          .set({ reenviado_en: now.toISOString() })
          .where('id', 'in', candidates).where(overdue)
          .returningAll().execute()
        for (const pago of marked) {
          await trx.insertInto('outbox').values(pagoSolicitadoRow(pago)).execute()
        }
        const overdueReembolso = overdueIn('reembolsos', 'reembolso.solicitado')
        let refunds = trx.selectFrom('reembolsos').select('id').where(overdueReembolso).orderBy('creado_en').limit(batch)
        if (hasRowLocks(trx)) refunds = refunds.forUpdate().skipLocked()
        const markedRefunds = await trx.updateTable('reembolsos')
          .set({ reenviado_en: now.toISOString() })
          .where('id', 'in', refunds).where(overdueReembolso)
          .returningAll().execute()
        for (const r of markedRefunds) {
          await trx.insertInto('outbox').values(reembolsoSolicitadoRow(r)).execute()
        }
        return marked.length + markedRefunds.length
      })
      if (rows > 0) onOutbox()
      return rows
    },

    /** Payments still `pendiente` more than `boundMs` after they were accepted. */
    async countOverdue (boundMs: number): Promise<number> {
      const cutoff = new Date(Date.now() - boundMs).toISOString()
      const row = await db.selectFrom('pagos').select((eb) => eb.fn.countAll<number>().as('n'))
        .where('estado', '=', 'pendiente').where('creado_en', '<', cutoff).executeTakeFirstOrThrow()
      return Number(row.n)
    }
  }
}
export type ResendStore = ReturnType<typeof createResendStore>

import type { ReembolsoSolicitadoV1 } from '../../contracts/messages.js'
import { outboxRow } from '../../lib/messaging/outbox-relay.js'
import { createTransact } from '../../lib/storage/group-commit.js'
import type { ProviderResult } from '../processor.js'
import type { PagosDb, ReembolsosProcesadosTable } from './schema.js'
import type { Selectable } from 'kysely'

/** Why pagos will not ask the provider for a refund: its payment was never processed here, or does not match. */
export interface Refused { kind: 'refused', reason: string }

/** The `reembolso.procesado` of a recorded refund, as an outbox row (messageId = refund id). */
function reembolsoProcesadoRow (row: Selectable<ReembolsosProcesadosTable>, correlationId: string | null) {
  return outboxRow('reembolso.procesado', {
    tipo: 'reembolso.procesado',
    version: 1,
    reembolsoId: row.id,
    pagoId: row.pago_id,
    usuarioId: row.usuario_id,
    montoCentimos: row.monto_centimos,
    estado: row.estado,
    motivo: row.motivo,
    procesadoEn: row.procesado_en
  }, { messageId: row.id, correlationId })
}

/**
 * The refunds pagos asked the provider for: one row per refund id with the
 * provider's result (`motivo` is the provider's), and the
 * `reembolso.procesado` that announces it (outbox). Amounts in integer cents.
 * `onOutbox` wakes the outbox relay after a commit that wrote a message.
 */
export function createReembolsosStore (db: PagosDb, onOutbox: () => void, transact = createTransact(db)) {
  return {
    /**
     * Whether a refund may go to the provider: its payment must be one pagos
     * recorded `completado`, of the same usuario, for at least the amount.
     * Undefined when it may; a refusal (dead-lettered by the caller) otherwise.
     */
    async check (s: ReembolsoSolicitadoV1): Promise<Refused | undefined> {
      const pago = await db.selectFrom('pagos').select(['usuario_id', 'monto_centimos', 'estado']).where('id', '=', s.pagoId).executeTakeFirst()
      if (pago === undefined) return { kind: 'refused', reason: `reembolso ${s.reembolsoId}: pagos nunca procesó el pago ${s.pagoId}` }
      if (pago.estado !== 'completado') return { kind: 'refused', reason: `reembolso ${s.reembolsoId}: el pago ${s.pagoId} está ${pago.estado}, no completado` }
      if (pago.usuario_id !== s.usuarioId || s.montoCentimos > pago.monto_centimos) {
        return { kind: 'refused', reason: `reembolso ${s.reembolsoId}: usuario o monto no coinciden con el pago ${s.pagoId}` }
      }
      return undefined
    },

    /**
     * Records the provider's result and its `reembolso.procesado` in one
     * transaction, once per refund id: a copy that raced past `republish`
     * inserts nothing and publishes nothing. Resolves whether it was new.
     */
    async record (s: ReembolsoSolicitadoV1, r: ProviderResult, correlationId: string | null, recibidoEn: string): Promise<boolean> {
      const inserted = await transact(async (trx) => {
        const row = {
          id: s.reembolsoId,
          pago_id: s.pagoId,
          usuario_id: s.usuarioId,
          monto_centimos: s.montoCentimos,
          estado: r.estado,
          motivo: r.motivo,
          correlation_id: correlationId,
          recibido_en: recibidoEn,
          procesado_en: new Date().toISOString()
        }
        const res = await trx.insertInto('reembolsos').values(row).onConflict((oc) => oc.column('id').doNothing()).executeTakeFirst()
        if (Number(res.numInsertedOrUpdatedRows ?? 0) === 0) return false
        await trx.insertInto('outbox').values(reembolsoProcesadoRow(row, correlationId)).execute()
        return true
      })
      if (inserted) onOutbox()
      return inserted
    },

    /**
     * Answers a repeated request for a refund already recorded with its
     * recorded result (a new `reembolso.procesado`, same content), without
     * calling the provider. Resolves false when the refund is not recorded.
     */
    async republish (reembolsoId: string, correlationId: string | null): Promise<boolean> {
      const known = await db.selectFrom('reembolsos').select('id').where('id', '=', reembolsoId).executeTakeFirst()
      if (known === undefined) return false
      await transact(async (trx) => {
        const row = await trx.selectFrom('reembolsos').selectAll().where('id', '=', reembolsoId).executeTakeFirstOrThrow()
        await trx.insertInto('outbox').values(reembolsoProcesadoRow(row, correlationId ?? row.correlation_id)).execute()
      })
      onOutbox()
      return true
    }
  }
}
export type ReembolsosStore = ReturnType<typeof createReembolsosStore>

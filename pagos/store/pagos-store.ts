import type { PagoProcesado } from '../../contracts/http/pagos.js'
import type { PagoSolicitadoV1 } from '../../contracts/messages.js'
import { fromCentimos } from '../../contracts/money.js'
import { createTransact } from '../../lib/storage/group-commit.js'
import { outboxRow } from '../../lib/messaging/outbox-relay.js'
import type { Resultado } from '../processor.js'
import type { PagosDb, PagosTable } from './schema.js'
import type { Selectable } from 'kysely'

function toPago (row: Selectable<PagosTable>): PagoProcesado {
  return {
    id: row.id,
    usuarioId: row.usuario_id,
    monto: fromCentimos(row.monto_centimos),
    concepto: row.concepto,
    estado: row.estado,
    motivo: row.motivo,
    correlationId: row.correlation_id,
    recibidoEn: row.recibido_en,
    procesadoEn: row.procesado_en
  }
}

export interface Filtro {
  usuarioId?: number
  estado?: 'completado' | 'fallido'
  limit: number
  offset: number
}

export function createPagosStore (db: PagosDb, onOutbox: () => void, transact = createTransact(db)) {
  const yaProcesado = async (pagoId: string): Promise<boolean> =>
    (await db.selectFrom('pagos').select('id').where('id', '=', pagoId).executeTakeFirst()) !== undefined
  return {
    /** Whether pagos has recorded a result for `pagoId`. */
    yaProcesado,

    /**
     * Records the result and its `pago.procesado` in one transaction, once per
     * payment id: a copy of the request that raced past `republicar`'s check inserts
     * nothing and publishes nothing.
     */
    async registrar (s: PagoSolicitadoV1, r: Resultado, correlationId: string | null, recibidoEn: string): Promise<boolean> {
      const inserted = await transact(async (trx) => {
        const procesadoEn = new Date().toISOString()
        const res = await trx.insertInto('pagos').values({
          id: s.pagoId,
          usuario_id: s.usuarioId,
          monto_centimos: s.montoCentimos,
          concepto: s.concepto,
          estado: r.estado,
          motivo: r.motivo,
          correlation_id: correlationId,
          recibido_en: recibidoEn,
          procesado_en: procesadoEn
        }).onConflict((oc) => oc.column('id').doNothing()).executeTakeFirst()
        if (Number(res.numInsertedOrUpdatedRows ?? 0) === 0) return false
        await trx.insertInto('outbox').values(outboxRow('pago.procesado', {
          tipo: 'pago.procesado',
          version: 1,
          pagoId: s.pagoId,
          usuarioId: s.usuarioId,
          montoCentimos: s.montoCentimos,
          estado: r.estado,
          motivo: r.motivo,
          procesadoEn
        }, { messageId: s.pagoId, correlationId })).execute()
        return true
      })
      if (inserted) onOutbox()
      return inserted
    },

    /**
     * Answers a repeated request for a payment already recorded: writes its
     * recorded result (same estado, motivo and procesadoEn) as a new
     * `pago.procesado` to the outbox, in a transaction. Never calls the
     * provider. Resolves false when the payment is not recorded here.
     */
    async republicar (pagoId: string, correlationId: string | null): Promise<boolean> {
      // A new payment (the usual case) costs one read and no transaction.
      if (!(await yaProcesado(pagoId))) return false
      const found = await transact(async (trx) => {
        const row = await trx.selectFrom('pagos').selectAll().where('id', '=', pagoId).executeTakeFirst()
        if (row === undefined) return false
        await trx.insertInto('outbox').values(outboxRow('pago.procesado', {
          tipo: 'pago.procesado',
          version: 1,
          pagoId: row.id,
          usuarioId: row.usuario_id,
          montoCentimos: row.monto_centimos,
          estado: row.estado,
          motivo: row.motivo,
          procesadoEn: row.procesado_en
        }, { messageId: row.id, correlationId: correlationId ?? row.correlation_id })).execute()
        return true
      })
      if (found) onOutbox()
      return found
    },

    async obtener (id: string): Promise<PagoProcesado | undefined> {
      const row = await db.selectFrom('pagos').selectAll().where('id', '=', id).executeTakeFirst()
      return row === undefined ? undefined : toPago(row)
    },

    async listar (f: Filtro): Promise<{ pagos: PagoProcesado[], total: number }> {
      let query = db.selectFrom('pagos')
      if (f.usuarioId !== undefined) query = query.where('usuario_id', '=', f.usuarioId)
      if (f.estado !== undefined) query = query.where('estado', '=', f.estado)
      const rows = await query.selectAll().orderBy('procesado_en', 'desc').orderBy('id').limit(f.limit).offset(f.offset).execute()
      const { n } = await query.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
      return { pagos: rows.map(toPago), total: Number(n) }
    },

    async contar (): Promise<{ completados: number, fallidos: number }> {
      const rows = await db.selectFrom('pagos').select(['estado', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('estado').execute()
      const count = (estado: string): number => Number(rows.find((r) => r.estado === estado)?.n ?? 0)
      return { completados: count('completado'), fallidos: count('fallido') }
    }
  }
}
export type PagosStore = ReturnType<typeof createPagosStore>

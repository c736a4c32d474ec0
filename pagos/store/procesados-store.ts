import type { PagoProcesado } from '../../contracts/http/pagos.js'
import type { PagoSolicitadoV1 } from '../../contracts/messages.js'
import { fromCentimos } from '../../contracts/money.js'
import { createTransact } from '../../lib/storage/group-commit.js'
import { outboxRow } from '../../lib/messaging/outbox-relay.js'
import type { ProviderResult } from '../processor.js'
import type { PagosDb, PagosProcesadosTable } from './schema.js'
import { sql, type Selectable } from 'kysely'
import { centimosSql, dialectOf } from '../../lib/storage/db.js'

function toPagoProcesado (row: Selectable<PagosProcesadosTable>): PagoProcesado {
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

/** Which processed payments to list: optional usuario and estado, and the page. */
export interface ProcesadosFilter {
  usuarioId?: number
  estado?: 'completado' | 'fallido'
  limit: number
  offset: number
}

/**
 * The payments pagos processed: one row per payment id with the provider's
 * result, and the `pago.procesado` that announces it (outbox). A payment it
 * never recorded is `undefined`, never an exception: the route throws the
 * catalogue's 404 (pagos/errors.ts). `onOutbox` wakes the outbox relay
 * after a commit that wrote a message; `transact` is the database's group commit.
 */
export function createProcesadosStore (db: PagosDb, onOutbox: () => void, transact = createTransact(db)) {
  const oneStatement = dialectOf(db) === 'postgres'
  /**
   * PostgreSQL: what record's transaction does, as one statement (one round
   * trip, no BEGIN/COMMIT): the outbox row is inserted only if the payment's
   * row was. Resolves whether it was.
   */
  const recordInOneStatement = async (s: PagoSolicitadoV1, r: ProviderResult, correlationId: string | null, recibidoEn: string): Promise<boolean> => {
    const procesadoEn = new Date().toISOString()
    const mensaje = outboxRow('pago.procesado', {
      tipo: 'pago.procesado', version: 1, pagoId: s.pagoId, usuarioId: s.usuarioId, montoCentimos: s.montoCentimos, estado: r.estado, motivo: r.motivo, procesadoEn
    }, { messageId: s.pagoId, correlationId })
    const result = await sql`
      with registrado as (
        insert into pagos (id, usuario_id, monto_centimos, concepto, estado, motivo, correlation_id, recibido_en, procesado_en)
        values (${s.pagoId}, cast(${s.usuarioId} as bigint), ${centimosSql(s.montoCentimos)}, ${s.concepto}, ${r.estado}, ${r.motivo}, ${correlationId}, ${recibidoEn}, ${procesadoEn})
        on conflict (id) do nothing
        returning id
      )
      insert into outbox (tipo, message_id, correlation_id, payload, creado_en)
      select ${mensaje.tipo}, ${mensaje.message_id}, ${mensaje.correlation_id}, ${mensaje.payload}, ${mensaje.creado_en} from registrado`.execute(db)
    return Number(result.numAffectedRows ?? 0) === 1
  }
  const isRecorded = async (pagoId: string): Promise<boolean> =>
    (await db.selectFrom('pagos').select('id').where('id', '=', pagoId).executeTakeFirst()) !== undefined
  return {
    /** Whether pagos has recorded a result for `pagoId`. */
    isRecorded,

    /**
     * Records the result and its `pago.procesado` in one transaction, once per
     * payment id: a copy of the request that raced past `republish`'s check inserts
     * nothing and publishes nothing. One statement on PostgreSQL.
     */
    async record (s: PagoSolicitadoV1, r: ProviderResult, correlationId: string | null, recibidoEn: string): Promise<boolean> {
      const inserted = oneStatement ? await recordInOneStatement(s, r, correlationId, recibidoEn) : await transact(async (trx) => {
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
    async republish (pagoId: string, correlationId: string | null): Promise<boolean> {
      // A new payment (the usual case) costs one read and no transaction.
      if (!(await isRecorded(pagoId))) return false
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

    /** The processed payment, or undefined if pagos never recorded it. */
    async find (id: string): Promise<PagoProcesado | undefined> {
      const row = await db.selectFrom('pagos').selectAll().where('id', '=', id).executeTakeFirst()
      return row === undefined ? undefined : toPagoProcesado(row)
    },

    /** A page of processed payments, latest first, and how many match. */
    async list (f: ProcesadosFilter): Promise<{ pagos: PagoProcesado[], total: number }> {
      let query = db.selectFrom('pagos')
      if (f.usuarioId !== undefined) query = query.where('usuario_id', '=', f.usuarioId)
      if (f.estado !== undefined) query = query.where('estado', '=', f.estado)
      const rows = await query.selectAll().orderBy('procesado_en', 'desc').orderBy('id').limit(f.limit).offset(f.offset).execute()
      const { n } = await query.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
      return { pagos: rows.map(toPagoProcesado), total: Number(n) }
    },

    /** How many payments ended completado and fallido. */
    async count (): Promise<{ completados: number, fallidos: number }> {
      const rows = await db.selectFrom('pagos').select(['estado', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('estado').execute()
      const count = (estado: string): number => Number(rows.find((r) => r.estado === estado)?.n ?? 0)
      return { completados: count('completado'), fallidos: count('fallido') }
    }
  }
}
export type ProcesadosStore = ReturnType<typeof createProcesadosStore>

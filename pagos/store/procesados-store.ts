import type { PagoProcesado } from '../../contracts/http/pagos.js'
import type { PagoSolicitadoV1 } from '../../contracts/messages.js'
import { fromCentimos } from '../../contracts/money.js'
import { createTransact } from '../../lib/storage/group-commit.js'
import { outboxRow } from '../../lib/messaging/outbox-relay.js'
import type { ProviderResult } from '../processor.js'
import type { PagosDb, PagosProcesadosTable } from './schema.js'
import { sql, type Selectable } from 'kysely'
import { batchPerTurn } from '../../lib/storage/turn-batch.js'
import { sqliteStatements } from '../../lib/storage/sqlite.js'
import { registradoEnSqlite, registrarEnSqlite } from './sqlite-hot.js'

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
  /**
   * PostgreSQL: what record's transaction does, for the results recorded in
   * one turn together, as one statement (one round trip, no BEGIN/COMMIT):
   * an outbox row is inserted only for a payment whose row was. Resolves,
   * per result and in order, whether it was new; of several results for one
   * payment only the first can be.
   */
  const recordInOneStatement = batchPerTurn(async (items: Array<{ s: PagoSolicitadoV1, r: ProviderResult, correlationId: string | null, recibidoEn: string }>): Promise<boolean[]> => {
    const procesadoEn = new Date().toISOString()
    const mensajes = items.map(({ s, r, correlationId }) => outboxRow('pago.procesado', {
      tipo: 'pago.procesado', version: 1, pagoId: s.pagoId, usuarioId: s.usuarioId, montoCentimos: s.montoCentimos, estado: r.estado, motivo: r.motivo, procesadoEn
    }, { messageId: s.pagoId, correlationId }))
    const first = items.filter((item, i) => items.findIndex((other) => other.s.pagoId === item.s.pagoId) === i)
    const column = <T>(f: (item: typeof items[number], i: number) => T): T[] => first.map((item) => f(item, items.indexOf(item)))
    const { rows } = await sql<{ message_id: string }>`
      with entrada as (
        select * from unnest(cast(${column((x) => x.s.pagoId)} as text[]), cast(${column((x) => x.s.usuarioId)} as bigint[]),
          cast(${column((x) => x.s.montoCentimos)} as bigint[]), cast(${column((x) => x.s.concepto)} as text[]),
          cast(${column((x) => x.r.estado)} as text[]), cast(${column((x) => x.r.motivo)} as text[]),
          cast(${column((x) => x.correlationId)} as text[]), cast(${column((x) => x.recibidoEn)} as text[]),
          cast(${column((_, i) => mensajes[i]!.payload)} as text[]), cast(${column((_, i) => mensajes[i]!.creado_en)} as text[]))
          as e(id, usuario_id, monto_centimos, concepto, estado, motivo, correlation_id, recibido_en, payload, creado_en)
      ), registrado as (
        insert into pagos (id, usuario_id, monto_centimos, concepto, estado, motivo, correlation_id, recibido_en, procesado_en)
        select id, usuario_id, monto_centimos, concepto, estado, motivo, correlation_id, recibido_en, ${procesadoEn} from entrada order by id
        on conflict (id) do nothing
        returning id
      )
      insert into outbox (tipo, message_id, correlation_id, payload, creado_en)
      select 'pago.procesado', entrada.id, entrada.correlation_id, entrada.payload, entrada.creado_en
      from entrada join registrado using (id) order by entrada.id
      returning message_id`.execute(db)
    const inserted = new Set(rows.map((r) => r.message_id))
    return items.map((item) => first.includes(item) && inserted.delete(item.s.pagoId))
  })
  /** PostgreSQL: which of the ids of one turn pagos has recorded, in one statement. */
  const recordedInOneStatement = batchPerTurn(async (ids: string[]): Promise<boolean[]> => {
    const { rows } = await sql<{ id: string }>`select id from pagos where id = any(cast(${ids} as text[]))`.execute(db)
    const found = new Set(rows.map((r) => r.id))
    return ids.map((id) => found.has(id))
  })
  // SQLite: hand-written statements (sqlite-hot.ts).
  const hot = sqliteStatements(db)
  const isRecorded = async (pagoId: string): Promise<boolean> => hot !== undefined
    ? registradoEnSqlite(hot, pagoId)
    : await recordedInOneStatement(pagoId)
  return {
    /** Whether pagos has recorded a result for `pagoId`. */
    isRecorded,

    /**
     * Records the result and its `pago.procesado` in one transaction, once per
     * payment id: a copy of the request that raced past `republish`'s check inserts
     * nothing and publishes nothing. On PostgreSQL one statement for all the
     * results recorded in one turn; on SQLite two hand-written statements in
     * a unit of the group commit.
     */
    async record (s: PagoSolicitadoV1, r: ProviderResult, correlationId: string | null, recibidoEn: string): Promise<boolean> {
      const inserted = hot !== undefined
        ? await transact(async () => registrarEnSqlite(hot, s, r, correlationId, recibidoEn))
        : await recordInOneStatement({ s, r, correlationId, recibidoEn })
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

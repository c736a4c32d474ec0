import type { Selectable, Transaction } from 'kysely'
import type { Movimiento } from '../../contracts/http/movimientos.js'
import { fromCentimos } from '../../contracts/money.js'
import type { MovimientosTable, TipoMovimiento, UsuariosDatabase, UsuariosDb } from './schema.js'

/** A change of a saldo, as the transaction that made it knows it. */
export interface MovimientoInput {
  usuarioId: number
  tipo: TipoMovimiento
  /** Signed integer cents: negative for a pago. */
  montoCentimos: number
  /** The usuario's saldo right after the change, integer cents (from the UPDATE's RETURNING). */
  saldoCentimos: number
  /** The payment, top-up or refund id; null for `alta`. */
  referencia: string | null
  /** ISO 8601, the change's own timestamp. */
  fecha: string
}

/**
 * Appends one row to the account statement, inside the transaction that
 * changed the saldo (after its UPDATE of the usuario row, whose lock orders
 * a usuario's rows). Errors: whatever the insert raises (the transaction
 * then rolls back, saldo change included).
 */
export async function appendMovimiento (trx: Transaction<UsuariosDatabase>, m: MovimientoInput): Promise<void> {
  await trx.insertInto('movimientos').values({
    usuario_id: m.usuarioId,
    tipo: m.tipo,
    monto_centimos: m.montoCentimos,
    saldo_centimos: m.saldoCentimos,
    referencia: m.referencia,
    creado_en: m.fecha
  }).execute()
}

/** A `movimientos` row as the API shows it: `monto` (signed) and `saldo` in money. */
export function toMovimiento (row: Selectable<MovimientosTable>): Movimiento {
  return {
    id: row.id,
    tipo: row.tipo,
    monto: fromCentimos(row.monto_centimos),
    saldo: fromCentimos(row.saldo_centimos),
    fecha: row.creado_en,
    referencia: row.referencia
  }
}

/** A page of a usuario's statement, newest first; `antes` is the id to continue below, undefined on the last page. */
export interface MovimientosPage { kind: 'page', movimientos: Movimiento[], antes: number | undefined }

/** No usuario with that id (the same outcome as cuenta-pagos-store.ts's). */
interface UsuarioNotFound { kind: 'usuario-not-found' }

/** The account statement (read side; rows are written by appendMovimiento). */
export function createMovimientosStore (db: UsuariosDb) {
  const page = async (usuarioId: number, q: { limit: number, antes?: number }): Promise<MovimientosPage> => {
    const rows = await db.selectFrom('movimientos').selectAll().where('usuario_id', '=', usuarioId)
      .$if(q.antes !== undefined, (w) => w.where('id', '<', q.antes!))
      .orderBy('id', 'desc').limit(q.limit + 1).execute()
    const more = rows.length > q.limit
    const shown = more ? rows.slice(0, q.limit) : rows
    return { kind: 'page', movimientos: shown.map(toMovimiento), antes: more ? shown[shown.length - 1]!.id : undefined }
  }
  const usuarioExists = async (usuarioId: number): Promise<boolean> =>
    (await db.selectFrom('usuarios').select('id').where('id', '=', usuarioId).executeTakeFirst()) !== undefined

  return {
    /**
     * Up to `limit` movements of the usuario with an id below `antes` (all
     * when undefined), newest first. Ids only grow, so a page never shifts
     * when new movements arrive. An unknown usuario is an outcome.
     */
    async list (usuarioId: number, q: { limit: number, antes?: number }): Promise<MovimientosPage | UsuarioNotFound> {
      if (!(await usuarioExists(usuarioId))) return { kind: 'usuario-not-found' }
      return await page(usuarioId, q)
    },

    /**
     * Every movement of the usuario, newest first, read `pageSize` at a time
     * as the consumer asks (the CSV export): movements newer than the first
     * page are not included. An unknown usuario is an outcome.
     */
    async all (usuarioId: number, pageSize = 500): Promise<{ kind: 'found', pages: AsyncGenerator<Movimiento[]> } | UsuarioNotFound> {
      if (!(await usuarioExists(usuarioId))) return { kind: 'usuario-not-found' }
      async function * pages (): AsyncGenerator<Movimiento[]> {
        let antes: number | undefined
        do {
          const p = await page(usuarioId, { limit: pageSize, antes })
          yield p.movimientos
          antes = p.antes
        } while (antes !== undefined)
      }
      return { kind: 'found', pages: pages() }
    }
  }
}
export type MovimientosStore = ReturnType<typeof createMovimientosStore>

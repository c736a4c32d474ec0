import { sql, type Expression, type Selectable, type SqlBool, type Transaction } from 'kysely'
import type { Usuario } from '../../contracts/http/usuarios.js'
import { fromCentimos, SALDO_MAXIMO_CENTIMOS } from '../../contracts/money.js'
import { centimosSql, hasRowLocks, lockForSetup } from '../../lib/storage/db.js'
import { recargarAnswer } from '../answers.js'
import { fingerprint, idempotent, type KeyReused, type Replayed } from './idempotency.js'
import type { UsuariosDatabase, UsuariosDb, UsuariosTable } from './schema.js'
import { appendMovimiento } from './movimientos.js'
import type { SaldoMaximoExceeded, ToppedUp, UsuarioNotFound } from './outcomes.js'
import { toUsuario } from './views.js'

/** The two users of the original demo, created on the first start of an empty database. */
export const SEED_USUARIOS = [
  { nombre: 'Willis', saldoCentimos: 50_000 },
  { nombre: 'Ana', saldoCentimos: 70_000 }
]

/**
 * Cents that may still come back to the saldo (SQL, for the row of `usuarios`
 * in scope): payments still `pendiente` (refunded if they fail) and refunds
 * still `pendiente` (credited if they complete).
 */
export const pendienteCentimos = sql<number>`(coalesce((select sum(p.monto_centimos) from pagos p where p.usuario_id = usuarios.id and p.estado = 'pendiente'), 0)
  + coalesce((select sum(r.monto_centimos) from reembolsos r where r.usuario_id = usuarios.id and r.estado = 'pendiente'), 0))`

/**
 * The balance ceiling, for any operation that raises a balance by
 * `montoCentimos`: saldo + pending (payments and refunds) + montoCentimos <= SALDO_MAXIMO.
 * Pending payments count because a failed one is given back, pending refunds
 * because a completed one is credited: a refund is checked against the
 * ceiling when it is asked for (reembolsos-store.ts), so the credit of a
 * completed refund, like the return of a failed payment, only adds money
 * that was already inside the ceiling and can never pass it.
 * Creation needs no check: an initial balance is at most SALDO_MAXIMO.
 */
export function fitsSaldoMaximo (montoCentimos: number): Expression<SqlBool> {
  return sql<SqlBool>`saldo_centimos + ${pendienteCentimos} + ${centimosSql(montoCentimos)} <= ${centimosSql(SALDO_MAXIMO_CENTIMOS)}`
}

export type RecargarOutcome = ToppedUp | SaldoMaximoExceeded | UsuarioNotFound | Replayed | KeyReused

/** The first movement of a usuario: its initial saldo (cents), at its creation. */
async function appendAlta (trx: Transaction<UsuariosDatabase>, row: Selectable<UsuariosTable>): Promise<void> {
  await appendMovimiento(trx, {
    usuarioId: row.id, tipo: 'alta', montoCentimos: row.saldo_inicial_centimos, saldoCentimos: row.saldo_centimos, referencia: null, fecha: row.creado_en
  })
}

/** Usuarios and their balances. A missing usuario is `undefined` or an outcome, never an exception. */
export function createCuentasStore (db: UsuariosDb) {
  return {
    /**
     * Creates the initial users only if the table has never had a row; under
     * a lock, so instances starting together on one database seed once. Each
     * gets its `alta` movement in the same transaction.
     */
    async seed (): Promise<boolean> {
      return await db.transaction().execute(async (trx) => {
        await lockForSetup(trx, 'usuarios.seed')
        const any = await trx.selectFrom('usuarios').select('id').limit(1).executeTakeFirst()
        if (any !== undefined) return false
        const now = new Date().toISOString()
        const rows = await trx.insertInto('usuarios').values(SEED_USUARIOS.map((u) => ({
          nombre: u.nombre, saldo_centimos: u.saldoCentimos, saldo_inicial_centimos: u.saldoCentimos, creado_en: now
        }))).returningAll().execute()
        for (const row of rows.sort((a, b) => a.id - b.id)) await appendAlta(trx, row)
        return true
      })
    },

    /** The usuario with its balance (money), or undefined. */
    async find (id: number): Promise<Usuario | undefined> {
      const row = await db.selectFrom('usuarios').selectAll().where('id', '=', id).executeTakeFirst()
      return row === undefined ? undefined : toUsuario(row)
    },

    /** A page of usuarios by id, and how many there are. */
    async list (page: { limit: number, offset: number }): Promise<{ usuarios: Usuario[], total: number }> {
      const rows = await db.selectFrom('usuarios').selectAll().orderBy('id').limit(page.limit).offset(page.offset).execute()
      const { n } = await db.selectFrom('usuarios').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
      return { usuarios: rows.map(toUsuario), total: Number(n) }
    },

    /**
     * A new usuario with `saldoCentimos` (integer cents, 0 to
     * SALDO_MAXIMO_CENTIMOS; a RangeError beyond), and its `alta` movement
     * in the same transaction (also for 0).
     */
    async create (nombre: string, saldoCentimos: number): Promise<Usuario> {
      if (!Number.isSafeInteger(saldoCentimos) || saldoCentimos < 0 || saldoCentimos > SALDO_MAXIMO_CENTIMOS) {
        throw new RangeError(`saldo inicial ${saldoCentimos} outside 0..${SALDO_MAXIMO_CENTIMOS} cents`)
      }
      const row = await db.transaction().execute(async (trx) => {
        const usuario = await trx.insertInto('usuarios').values({
          nombre, saldo_centimos: saldoCentimos, saldo_inicial_centimos: saldoCentimos, creado_en: new Date().toISOString()
        }).returningAll().executeTakeFirstOrThrow()
        await appendAlta(trx, usuario)
        return usuario
      })
      return toUsuario(row)
    },

    /**
     * Adds `montoCentimos` (integer cents) and records the top-up, once per
     * Idempotency-Key (`idempotencyKey`). A top-up that would take saldo +
     * pending payments past SALDO_MAXIMO is `saldo-maximo-exceeded` and
     * changes nothing (its answer is remembered under its key like any
     * other); an unknown usuario keeps nothing.
     */
    async recargar (usuarioId: number, montoCentimos: number, idempotencyKey?: string): Promise<RecargarOutcome> {
      const key = idempotencyKey === undefined ? undefined : { usuarioId, operation: 'recargar' as const, key: idempotencyKey }
      const inTransaction = async <T>(work: (trx: Transaction<UsuariosDatabase>) => Promise<T>): Promise<T> => await db.transaction().execute(work)
      return await idempotent(inTransaction, key, fingerprint({ montoCentimos }), async (trx): Promise<ToppedUp | SaldoMaximoExceeded | UsuarioNotFound> => {
        // PostgreSQL: lock the row first, so that the guarded UPDATE below (a
        // new statement, a new snapshot) sees every payment committed before
        // it and the sum of pending payments is current.
        if (hasRowLocks(trx)) await trx.selectFrom('usuarios').select('id').where('id', '=', usuarioId).forUpdate().executeTakeFirst()
        const usuario = await trx.updateTable('usuarios')
          .set((eb) => ({ saldo_centimos: eb('saldo_centimos', '+', centimosSql(montoCentimos)) }))
          .where('id', '=', usuarioId).where(fitsSaldoMaximo(montoCentimos)).returningAll().executeTakeFirst()
        if (usuario === undefined) {
          const current = await trx.selectFrom('usuarios').select(['saldo_centimos', pendienteCentimos.as('pendiente')])
            .where('id', '=', usuarioId).executeTakeFirst()
          if (current === undefined) return { kind: 'usuario-not-found' }
          return { kind: 'saldo-maximo-exceeded', saldoCentimos: current.saldo_centimos, pendienteCentimos: Number(current.pendiente), montoCentimos }
        }
        const recarga = await trx.insertInto('recargas').values({
          usuario_id: usuarioId, monto_centimos: montoCentimos, creado_en: new Date().toISOString()
        }).returningAll().executeTakeFirstOrThrow()
        await appendMovimiento(trx, {
          usuarioId, tipo: 'recarga', montoCentimos, saldoCentimos: usuario.saldo_centimos, referencia: String(recarga.id), fecha: recarga.creado_en
        })
        return {
          kind: 'topped-up',
          usuario: toUsuario(usuario),
          recarga: { id: recarga.id, monto: fromCentimos(recarga.monto_centimos), creadoEn: recarga.creado_en }
        }
      }, (o) => o.kind === 'usuario-not-found' ? undefined : recargarAnswer(o))
    }
  }
}
export type CuentasStore = ReturnType<typeof createCuentasStore>

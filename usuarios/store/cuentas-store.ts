import { sql, type Expression, type SqlBool } from 'kysely'
import type { RecargarResponse, SaldoMaximoSuperado, Usuario } from '../../contracts/http/usuarios.js'
import { fromCentimos, SALDO_MAXIMO, SALDO_MAXIMO_CENTIMOS } from '../../contracts/money.js'
import { centimosSql, hasRowLocks, lockForSetup } from '../../lib/storage/db.js'
import { SALDO_MAXIMO_SUPERADO, UsuarioNoEncontrado } from '../errors.js'
import { huella, withIdempotency, type Stored } from './idempotency.js'
import type { UsuariosDb } from './schema.js'
import { toUsuario } from './views.js'

/** The two users of the original demo, created on the first start of an empty database. */
export const USUARIOS_INICIALES = [
  { nombre: 'Willis', saldoCentimos: 50_000 },
  { nombre: 'Ana', saldoCentimos: 70_000 }
]

/** Cents of the user's payments still `pendiente` (SQL, for the row of `usuarios` in scope). */
const pendienteCentimos = sql<number>`coalesce((select sum(p.monto_centimos) from pagos p where p.usuario_id = usuarios.id and p.estado = 'pendiente'), 0)`

/**
 * The balance ceiling, for any operation that raises a balance by
 * `montoCentimos`: saldo + pending payments + montoCentimos <= SALDO_MAXIMO.
 * Pending payments count because a failed one is refunded: with them
 * counted, a refund only gives back money that was already inside the
 * ceiling, so no refund can ever pass it (and none is ever refused).
 * Creation needs no check: an initial balance is at most SALDO_MAXIMO.
 */
export function cabeEnSaldoMaximo (montoCentimos: number): Expression<SqlBool> {
  return sql<SqlBool>`saldo_centimos + ${pendienteCentimos} + ${centimosSql(montoCentimos)} <= ${centimosSql(SALDO_MAXIMO_CENTIMOS)}`
}

export type ResultadoRecarga = Stored<RecargarResponse> | Stored<SaldoMaximoSuperado>

export function createCuentasStore (db: UsuariosDb) {
  return {
    /**
     * Creates the initial users only if the table has never had a row; under
     * a lock, so instances starting together on one database seed once.
     */
    async seed (): Promise<boolean> {
      return await db.transaction().execute(async (trx) => {
        await lockForSetup(trx, 'usuarios.seed')
        const any = await trx.selectFrom('usuarios').select('id').limit(1).executeTakeFirst()
        if (any !== undefined) return false
        const ahora = new Date().toISOString()
        await trx.insertInto('usuarios').values(USUARIOS_INICIALES.map((u) => ({
          nombre: u.nombre, saldo_centimos: u.saldoCentimos, saldo_inicial_centimos: u.saldoCentimos, creado_en: ahora
        }))).execute()
        return true
      })
    },

    async obtener (id: number): Promise<Usuario> {
      const row = await db.selectFrom('usuarios').selectAll().where('id', '=', id).executeTakeFirst()
      if (row === undefined) throw new UsuarioNoEncontrado()
      return toUsuario(row)
    },

    async listar (page: { limit: number, offset: number }): Promise<{ usuarios: Usuario[], total: number }> {
      const rows = await db.selectFrom('usuarios').selectAll().orderBy('id').limit(page.limit).offset(page.offset).execute()
      const { n } = await db.selectFrom('usuarios').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
      return { usuarios: rows.map(toUsuario), total: Number(n) }
    },

    /** A new user with `saldoCentimos` (0 to SALDO_MAXIMO_CENTIMOS; a RangeError beyond). */
    async crear (nombre: string, saldoCentimos: number): Promise<Usuario> {
      if (!Number.isSafeInteger(saldoCentimos) || saldoCentimos < 0 || saldoCentimos > SALDO_MAXIMO_CENTIMOS) {
        throw new RangeError(`saldo inicial ${saldoCentimos} outside 0..${SALDO_MAXIMO_CENTIMOS} cents`)
      }
      const row = await db.insertInto('usuarios').values({
        nombre, saldo_centimos: saldoCentimos, saldo_inicial_centimos: saldoCentimos, creado_en: new Date().toISOString()
      }).returningAll().executeTakeFirstOrThrow()
      return toUsuario(row)
    },

    /**
     * Adds money and records the top-up, once per Idempotency-Key. A top-up
     * that would take saldo + pending payments past SALDO_MAXIMO is a 409
     * `SALDO_MAXIMO_SUPERADO` and changes nothing (remembered under its key
     * like any answer).
     */
    async recargar (usuarioId: number, montoCentimos: number, clave?: string): Promise<ResultadoRecarga & { replayed: boolean }> {
      const key = clave === undefined ? undefined : { usuarioId, operacion: 'recargar' as const, clave }
      const result = await db.transaction().execute(async (trx) => await withIdempotency<RecargarResponse | SaldoMaximoSuperado>(trx, key, huella({ montoCentimos }), async () => {
        // PostgreSQL: lock the row first, so that the guarded UPDATE below (a
        // new statement, a new snapshot) sees every payment committed before
        // it and the sum of pending payments is current.
        if (hasRowLocks(trx)) await trx.selectFrom('usuarios').select('id').where('id', '=', usuarioId).forUpdate().executeTakeFirst()
        const usuario = await trx.updateTable('usuarios')
          .set((eb) => ({ saldo_centimos: eb('saldo_centimos', '+', centimosSql(montoCentimos)) }))
          .where('id', '=', usuarioId).where(cabeEnSaldoMaximo(montoCentimos)).returningAll().executeTakeFirst()
        if (usuario === undefined) {
          const actual = await trx.selectFrom('usuarios').select(['saldo_centimos', pendienteCentimos.as('pendiente')])
            .where('id', '=', usuarioId).executeTakeFirst()
          if (actual === undefined) throw new UsuarioNoEncontrado()
          return {
            status: 409,
            body: {
              error: 'El saldo superaría el máximo permitido' as const,
              code: SALDO_MAXIMO_SUPERADO,
              saldo: fromCentimos(actual.saldo_centimos),
              pendiente: fromCentimos(Number(actual.pendiente)),
              monto: fromCentimos(montoCentimos),
              saldoMaximo: SALDO_MAXIMO
            }
          }
        }
        const recarga = await trx.insertInto('recargas').values({
          usuario_id: usuarioId, monto_centimos: montoCentimos, creado_en: new Date().toISOString()
        }).returningAll().executeTakeFirstOrThrow()
        return {
          status: 200,
          body: {
            mensaje: 'Recarga realizada' as const,
            usuario: toUsuario(usuario),
            recarga: { id: recarga.id, monto: fromCentimos(recarga.monto_centimos), creadoEn: recarga.creado_en }
          }
        }
      }))
      return result as ResultadoRecarga & { replayed: boolean }
    }
  }
}
export type CuentasStore = ReturnType<typeof createCuentasStore>

import type { RecargarResponse, Usuario } from '../../contracts/http/usuarios.js'
import { fromCentimos } from '../../contracts/money.js'
import { lockForSetup } from '../../lib/db.js'
import { UsuarioNoEncontrado } from '../errors.js'
import { huella, withIdempotency, type Stored } from './idempotency.js'
import type { UsuariosDb } from './schema.js'
import { toUsuario } from './views.js'

/** The two users of the original demo, created on the first start of an empty database. */
export const USUARIOS_INICIALES = [
  { nombre: 'Willis', saldoCentimos: 50_000 },
  { nombre: 'Ana', saldoCentimos: 70_000 }
]

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

    async crear (nombre: string, saldoCentimos: number): Promise<Usuario> {
      const row = await db.insertInto('usuarios').values({
        nombre, saldo_centimos: saldoCentimos, saldo_inicial_centimos: saldoCentimos, creado_en: new Date().toISOString()
      }).returningAll().executeTakeFirstOrThrow()
      return toUsuario(row)
    },

    /** Adds money and records the top-up, once per Idempotency-Key. */
    async recargar (usuarioId: number, montoCentimos: number, clave?: string): Promise<Stored<RecargarResponse> & { replayed: boolean }> {
      const key = clave === undefined ? undefined : { usuarioId, operacion: 'recargar' as const, clave }
      return await db.transaction().execute(async (trx) => await withIdempotency(trx, key, huella({ montoCentimos }), async () => {
        const usuario = await trx.updateTable('usuarios')
          .set((eb) => ({ saldo_centimos: eb('saldo_centimos', '+', montoCentimos) }))
          .where('id', '=', usuarioId).returningAll().executeTakeFirst()
        if (usuario === undefined) throw new UsuarioNoEncontrado()
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
    }
  }
}
export type CuentasStore = ReturnType<typeof createCuentasStore>

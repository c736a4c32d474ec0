import { randomUUID } from 'node:crypto'
import type { EstadoPago } from '../../contracts/http/common.js'
import type { PagarResponse, PagoUsuario } from '../../contracts/http/usuarios.js'
import type { PagoProcesadoV1 } from '../../contracts/messages.js'
import { fromCentimos } from '../../contracts/money.js'
import { centimosSql, hasRowLocks } from '../../lib/storage/db.js'
import { createTransact } from '../../lib/storage/group-commit.js'
import { PagoNoEncontrado, SALDO_INSUFICIENTE, UsuarioNoEncontrado } from '../errors.js'
import { huella, withIdempotency, type Stored } from './idempotency.js'
import type { UsuariosDb } from './schema.js'
import { pagoSolicitadoRow, toPago, toUsuario } from './views.js'

export interface SolicitudPago {
  usuarioId: number
  montoCentimos: number
  concepto: string | null
  requestId: string | null
  idempotencyKey?: string
}

export interface SaldoInsuficienteBody { error: 'Saldo insuficiente', code: string, saldo: number, monto: number }
export type ResultadoPago = Stored<PagarResponse> | Stored<SaldoInsuficienteBody>

/** What consuming a `pago.procesado` did; a dead letter carries its reason. */
export type Aplicacion = { kind: 'aplicado' | 'duplicado' } | { kind: 'rechazado', motivo: string }

export function createPagosStore (db: UsuariosDb, onOutbox: () => void, transact = createTransact(db)) {
  return {
    /**
     * One transaction: check and debit the balance (a guarded UPDATE, so two
     * concurrent payments can never overdraw), record the payment `pendiente`
     * and write `pago.solicitado` to the outbox. Insufficient funds change nothing.
     */
    async pagar (s: SolicitudPago): Promise<ResultadoPago & { replayed: boolean }> {
      const key = s.idempotencyKey === undefined ? undefined : { usuarioId: s.usuarioId, operacion: 'pagar' as const, clave: s.idempotencyKey }
      // A SHA-256 per payment only when there is a key to compare it with.
      const fingerprint = key === undefined ? '' : huella({ montoCentimos: s.montoCentimos, concepto: s.concepto })
      const result = await transact(async (trx) => await withIdempotency<PagarResponse | SaldoInsuficienteBody>(trx, key, fingerprint, async () => {
        const usuario = await trx.updateTable('usuarios')
          .set((eb) => ({ saldo_centimos: eb('saldo_centimos', '-', centimosSql(s.montoCentimos)) }))
          .where('id', '=', s.usuarioId).where('saldo_centimos', '>=', centimosSql(s.montoCentimos))
          .returningAll().executeTakeFirst()
        if (usuario === undefined) {
          const actual = await trx.selectFrom('usuarios').select('saldo_centimos').where('id', '=', s.usuarioId).executeTakeFirst()
          if (actual === undefined) throw new UsuarioNoEncontrado()
          return {
            status: 409,
            body: { error: 'Saldo insuficiente' as const, code: SALDO_INSUFICIENTE, saldo: fromCentimos(actual.saldo_centimos), monto: fromCentimos(s.montoCentimos) }
          }
        }
        const ahora = new Date().toISOString()
        const pago = await trx.insertInto('pagos').values({
          id: randomUUID(),
          usuario_id: s.usuarioId,
          monto_centimos: s.montoCentimos,
          concepto: s.concepto,
          estado: 'pendiente',
          motivo: null,
          correlation_id: s.requestId,
          creado_en: ahora,
          actualizado_en: ahora
        }).returningAll().executeTakeFirstOrThrow()
        await trx.insertInto('outbox').values(pagoSolicitadoRow(pago)).execute()
        return { status: 202, body: { mensaje: 'Solicitud de pago enviada' as const, usuario: toUsuario(usuario), pago: toPago(pago) } }
      }))
      if (result.status === 202 && !result.replayed) onOutbox()
      return result as ResultadoPago & { replayed: boolean }
    },

    /**
     * Applies a `pago.procesado` exactly once: the payment leaves `pendiente`
     * through a guarded UPDATE, and a `fallido` refunds the amount in the same
     * transaction. A repeat of the same result is a duplicate; anything that
     * contradicts what we recorded is refused (dead-lettered by the caller).
     * On PostgreSQL the row is locked first, so two instances applying results
     * for one payment see each other's outcome rather than a stale `pendiente`.
     */
    async aplicarResultado (m: PagoProcesadoV1): Promise<Aplicacion> {
      return await transact(async (trx): Promise<Aplicacion> => {
        const pago = await trx.selectFrom('pagos').selectAll().where('id', '=', m.pagoId)
          .$if(hasRowLocks(trx), (q) => q.forUpdate()).executeTakeFirst()
        if (pago === undefined) return { kind: 'rechazado', motivo: `pago ${m.pagoId} desconocido` }
        if (pago.usuario_id !== m.usuarioId || pago.monto_centimos !== m.montoCentimos) {
          return { kind: 'rechazado', motivo: `pago ${m.pagoId}: usuario o monto no coinciden con lo registrado` }
        }
        if (pago.estado !== 'pendiente') {
          return pago.estado === m.estado
            ? { kind: 'duplicado' }
            : { kind: 'rechazado', motivo: `pago ${m.pagoId} ya está ${pago.estado}, llegó ${m.estado}` }
        }
        const updated = await trx.updateTable('pagos')
          .set({ estado: m.estado, motivo: m.motivo, actualizado_en: new Date().toISOString() })
          .where('id', '=', m.pagoId).where('estado', '=', 'pendiente').executeTakeFirst()
        if (Number(updated.numUpdatedRows) !== 1) return { kind: 'duplicado' }
        if (m.estado === 'fallido') {
          await trx.updateTable('usuarios')
            .set((eb) => ({ saldo_centimos: eb('saldo_centimos', '+', centimosSql(pago.monto_centimos)) }))
            .where('id', '=', pago.usuario_id).execute()
        }
        return { kind: 'aplicado' }
      })
    },

    async listar (usuarioId: number, q: { estado?: EstadoPago, limit: number, offset: number }): Promise<{ pagos: PagoUsuario[], total: number }> {
      await this.existeUsuario(usuarioId)
      let query = db.selectFrom('pagos').where('usuario_id', '=', usuarioId)
      if (q.estado !== undefined) query = query.where('estado', '=', q.estado)
      const rows = await query.selectAll().orderBy('creado_en', 'desc').orderBy('id').limit(q.limit).offset(q.offset).execute()
      const { n } = await query.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
      return { pagos: rows.map(toPago), total: Number(n) }
    },

    async obtener (usuarioId: number, pagoId: string): Promise<PagoUsuario> {
      const row = await db.selectFrom('pagos').selectAll().where('id', '=', pagoId).where('usuario_id', '=', usuarioId).executeTakeFirst()
      if (row === undefined) {
        await this.existeUsuario(usuarioId)
        throw new PagoNoEncontrado()
      }
      return toPago(row)
    },

    async existeUsuario (usuarioId: number): Promise<void> {
      const row = await db.selectFrom('usuarios').select('id').where('id', '=', usuarioId).executeTakeFirst()
      if (row === undefined) throw new UsuarioNoEncontrado()
    }
  }
}
export type PagosStore = ReturnType<typeof createPagosStore>

import { randomUUID } from 'node:crypto'
import type { Reembolso } from '../../contracts/http/reembolsos.js'
import type { ReembolsoProcesadoV1 } from '../../contracts/messages.js'
import { centimosSql, hasRowLocks } from '../../lib/storage/db.js'
import { createTransact } from '../../lib/storage/group-commit.js'
import { reembolsarAnswer } from '../answers.js'
import { fitsSaldoMaximo, pendienteCentimos } from './cuentas-store.js'
import type { SaldoMaximoExceeded } from './outcomes.js'
import { fingerprint, idempotent } from './idempotency.js'
import { appendMovimiento } from './movimientos.js'
import type { UsuariosDb } from './schema.js'
import type {
  ApplyReembolsoOutcome, PagoNotFound, PagoNotRefundable, ReembolsarOutcome, RefundAccepted, RefundExceedsPago, UsuarioNotFound
} from './reembolsos-outcomes.js'
import { reembolsoSolicitadoRow, toReembolso } from './views.js'

/*
 * Refunds of a completed payment, as usuarios keeps them: recorded
 * `pendiente` (with `reembolso.solicitado` in the outbox), then `completado`
 * (the amount credited to the saldo, once) or `fallido` (nothing credited)
 * when pagos answers. All amounts are integer cents. Missing rows are
 * outcomes; routes throw the catalogue's 404 (usuarios/errors.ts).
 */

/** A refund to ask for: no `montoCentimos` means what is left of the payment. */
export interface ReembolsoRequest {
  usuarioId: number
  pagoId: string
  montoCentimos?: number
  motivo: string | null
  /** The HTTP request's id, carried by the message from here on. */
  correlationId: string | null
  idempotencyKey?: string
}

export function createReembolsosStore (db: UsuariosDb, onOutbox: () => void, transact = createTransact(db)) {
  const find = async (usuarioId: number, pagoId: string): Promise<UsuarioNotFound | PagoNotFound | undefined> => {
    const pago = await db.selectFrom('pagos').select('id').where('id', '=', pagoId).where('usuario_id', '=', usuarioId).executeTakeFirst()
    if (pago !== undefined) return undefined
    const usuario = await db.selectFrom('usuarios').select('id').where('id', '=', usuarioId).executeTakeFirst()
    return usuario === undefined ? { kind: 'usuario-not-found' } : { kind: 'pago-not-found' }
  }

  return {
    /**
     * One transaction, under the payment's row lock (PostgreSQL; SQLite's one
     * writer serialises): only a `completado` payment, and only up to its
     * amount minus its `pendiente` and `completado` refunds, so concurrent
     * refunds on any number of instances never add up to more than the
     * payment. The credit-to-be must fit SALDO_MAXIMO with what is pending
     * (cuentas-store.ts fitsSaldoMaximo). Records the refund `pendiente` and
     * writes `reembolso.solicitado` to the outbox. With an Idempotency-Key
     * (operation `reembolsar`) the answer is kept with the effect; 409s are
     * remembered too; an unknown usuario or payment keeps nothing.
     */
    async reembolsar (s: ReembolsoRequest): Promise<ReembolsarOutcome> {
      const key = s.idempotencyKey === undefined ? undefined : { usuarioId: s.usuarioId, operation: 'reembolsar' as const, key: s.idempotencyKey }
      const huella = key === undefined ? '' : fingerprint({ pagoId: s.pagoId, montoCentimos: s.montoCentimos ?? null, motivo: s.motivo })
      type Computed = RefundAccepted | PagoNotRefundable | RefundExceedsPago | SaldoMaximoExceeded | UsuarioNotFound | PagoNotFound
      const outcome = await idempotent(transact, key, huella, async (trx): Promise<Computed> => {
        const pago = await trx.selectFrom('pagos').select(['id', 'usuario_id', 'monto_centimos', 'estado'])
          .where('id', '=', s.pagoId).where('usuario_id', '=', s.usuarioId)
          .$if(hasRowLocks(trx), (q) => q.forUpdate()).executeTakeFirst()
        if (pago === undefined) {
          const usuario = await trx.selectFrom('usuarios').select('id').where('id', '=', s.usuarioId).executeTakeFirst()
          return usuario === undefined ? { kind: 'usuario-not-found' } : { kind: 'pago-not-found' }
        }
        if (pago.estado !== 'completado') return { kind: 'not-refundable', estado: pago.estado, reembolsableCentimos: 0 }
        const { n } = await trx.selectFrom('reembolsos').select((eb) => eb.fn.sum<number>('monto_centimos').as('n'))
          .where('pago_id', '=', pago.id).where('estado', 'in', ['pendiente', 'completado']).executeTakeFirstOrThrow()
        const reembolsable = pago.monto_centimos - Number(n ?? 0)
        const monto = s.montoCentimos ?? reembolsable
        if (monto <= 0 || monto > reembolsable) return { kind: 'exceeds', montoCentimos: s.montoCentimos ?? null, reembolsableCentimos: reembolsable }
        // PostgreSQL: lock the usuario row first (as recargar does), so the check
        // below (a new statement, a new snapshot) sees every pending payment and
        // refund committed before it. Lock order: payment, then usuario.
        if (hasRowLocks(trx)) await trx.selectFrom('usuarios').select('id').where('id', '=', s.usuarioId).forUpdate().executeTakeFirst()
        const usuario = await trx.selectFrom('usuarios').select(['saldo_centimos', pendienteCentimos.as('pendiente')])
          .where('id', '=', s.usuarioId).where(fitsSaldoMaximo(monto)).executeTakeFirst()
        if (usuario === undefined) {
          const current = await trx.selectFrom('usuarios').select(['saldo_centimos', pendienteCentimos.as('pendiente')]).where('id', '=', s.usuarioId).executeTakeFirstOrThrow()
          return { kind: 'saldo-maximo-exceeded', saldoCentimos: current.saldo_centimos, pendienteCentimos: Number(current.pendiente), montoCentimos: monto }
        }
        const now = new Date().toISOString()
        const row = await trx.insertInto('reembolsos').values({
          id: randomUUID(),
          pago_id: pago.id,
          usuario_id: s.usuarioId,
          monto_centimos: monto,
          motivo: s.motivo,
          estado: 'pendiente',
          motivo_fallo: null,
          correlation_id: s.correlationId,
          creado_en: now,
          actualizado_en: now
        }).returningAll().executeTakeFirstOrThrow()
        await trx.insertInto('outbox').values(reembolsoSolicitadoRow(row)).execute()
        return { kind: 'accepted', reembolso: toReembolso(row) }
      }, (o) => o.kind === 'usuario-not-found' || o.kind === 'pago-not-found' ? undefined : reembolsarAnswer(o))
      if (outcome.kind === 'accepted') onOutbox()
      return outcome
    },

    /**
     * Applies a `reembolso.procesado` exactly once: the refund leaves
     * `pendiente` through a guarded UPDATE under its row lock, and a
     * `completado` credits the amount and appends its movement (tipo
     * `reembolso`) in the same transaction. A repeat of the same result is a
     * duplicate; an unknown refund, or one that contradicts what we recorded,
     * is refused (dead-lettered by the caller).
     */
    async applyReembolsoProcesado (m: ReembolsoProcesadoV1): Promise<ApplyReembolsoOutcome> {
      return await transact(async (trx): Promise<ApplyReembolsoOutcome> => {
        const r = await trx.selectFrom('reembolsos').selectAll().where('id', '=', m.reembolsoId)
          .$if(hasRowLocks(trx), (q) => q.forUpdate()).executeTakeFirst()
        if (r === undefined) return { kind: 'refused', reason: `reembolso ${m.reembolsoId} desconocido` }
        if (r.pago_id !== m.pagoId || r.usuario_id !== m.usuarioId || r.monto_centimos !== m.montoCentimos) {
          return { kind: 'refused', reason: `reembolso ${m.reembolsoId}: pago, usuario o monto no coinciden con lo registrado` }
        }
        if (r.estado !== 'pendiente') {
          return r.estado === m.estado ? { kind: 'duplicate' } : { kind: 'refused', reason: `reembolso ${m.reembolsoId} ya está ${r.estado}, llegó ${m.estado}` }
        }
        const fecha = new Date().toISOString()
        const updated = await trx.updateTable('reembolsos')
          .set({ estado: m.estado, motivo_fallo: m.estado === 'fallido' ? m.motivo : null, actualizado_en: fecha })
          .where('id', '=', r.id).where('estado', '=', 'pendiente').executeTakeFirst()
        if (Number(updated.numUpdatedRows) !== 1) return { kind: 'duplicate' }
        if (m.estado === 'completado') {
          const usuario = await trx.updateTable('usuarios')
            .set((eb) => ({ saldo_centimos: eb('saldo_centimos', '+', centimosSql(r.monto_centimos)) }))
            .where('id', '=', r.usuario_id).returning('saldo_centimos').executeTakeFirstOrThrow()
          await appendMovimiento(trx, { usuarioId: r.usuario_id, tipo: 'reembolso', montoCentimos: r.monto_centimos, saldoCentimos: usuario.saldo_centimos, referencia: r.id, fecha })
        }
        return { kind: 'applied' }
      })
    },

    /** The payment's refunds, oldest first, or which of usuario and payment is missing. */
    async list (usuarioId: number, pagoId: string): Promise<{ kind: 'found', reembolsos: Reembolso[] } | UsuarioNotFound | PagoNotFound> {
      const missing = await find(usuarioId, pagoId)
      if (missing !== undefined) return missing
      const rows = await db.selectFrom('reembolsos').selectAll().where('pago_id', '=', pagoId).orderBy('creado_en').orderBy('id').execute()
      return { kind: 'found', reembolsos: rows.map(toReembolso) }
    },

    /** One refund of the payment, or which of the three is missing. */
    async find (usuarioId: number, pagoId: string, reembolsoId: string): Promise<{ kind: 'found', reembolso: Reembolso } | UsuarioNotFound | PagoNotFound | { kind: 'reembolso-not-found' }> {
      const row = await db.selectFrom('reembolsos').selectAll().where('id', '=', reembolsoId).where('pago_id', '=', pagoId).where('usuario_id', '=', usuarioId).executeTakeFirst()
      if (row !== undefined) return { kind: 'found', reembolso: toReembolso(row) }
      return await find(usuarioId, pagoId) ?? { kind: 'reembolso-not-found' }
    }
  }
}
export type ReembolsosStore = ReturnType<typeof createReembolsosStore>

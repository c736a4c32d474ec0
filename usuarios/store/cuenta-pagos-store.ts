import type { EstadoPago } from '../../contracts/http/common.js'
import type { PagoUsuario } from '../../contracts/http/usuarios.js'
import type { PagoProcesadoV1 } from '../../contracts/messages.js'
import { centimosSql, dialectOf, hasRowLocks } from '../../lib/storage/db.js'
import { createTransact } from '../../lib/storage/group-commit.js'
import { pagarAnswer } from '../answers.js'
import { fingerprint, idempotent, type KeyReused, type Replayed } from './idempotency.js'
import { appendMovimiento } from './movimientos.js'
import { batchPerTurn } from '../../lib/storage/turn-batch.js'
import { applyPagoProcesadoInOneStatement, completarPagosInOneStatement, pagarBatch } from './one-statement.js'
import { sqliteStatements } from '../../lib/storage/sqlite.js'
import { completarEnSqlite, debitarEnSqlite } from './sqlite-hot.js'
import type { Accepted, InsufficientFunds, UsuarioNotFound } from './outcomes.js'
import type { UsuariosDb } from './schema.js'
import { pagoPendienteRow, pagoSolicitadoRow, toPagoAceptado, toPagoUsuario, toUsuario } from './views.js'

/*
 * The account's payments, as usuarios keeps them: accepted (balance debited,
 * `pendiente`), then `completado` or `fallido` (refunded) when pagos answers.
 * Missing rows are outcomes, never exceptions: routes throw the catalogue's
 * 404 (usuarios/errors.ts).
 */

/** A payment to make: `montoCentimos` in integer cents; `correlationId` is the HTTP request's id (`x-request-id`), carried by the message from here on. */
export interface PagoRequest {
  usuarioId: number
  montoCentimos: number
  concepto: string | null
  correlationId: string | null
  idempotencyKey?: string
}

export type PagarOutcome = Accepted | InsufficientFunds | UsuarioNotFound | Replayed | KeyReused

/** What consuming a `pago.procesado` did; a refused one is dead-lettered with its reason. */
export type ApplyOutcome = { kind: 'applied' | 'duplicate' } | { kind: 'refused', reason: string }

/** A page of a usuario's payments, newest first. */
export interface PagosPage { pagos: PagoUsuario[], total: number }

/**
 * `onOutbox` wakes the outbox relay after a commit that wrote a message;
 * `transact` is the database's group commit (shared with the relay).
 */
export function createCuentaPagosStore (db: UsuariosDb, onOutbox: () => void, transact = createTransact(db)) {
  // PostgreSQL: the common case of each step goes in batches of one turn (one-statement.ts).
  const oneStatement = dialectOf(db) === 'postgres'
  // SQLite: the common case of each step as hand-written statements, inside the transaction (sqlite-hot.ts).
  const hot = sqliteStatements(db)
  // The `completado` results of one turn complete their payments in one statement.
  const debitar = batchPerTurn(async (ds: PagoRequest[]) => await pagarBatch(db, ds))
  const completar = batchPerTurn(async (ms: PagoProcesadoV1[]) => await completarPagosInOneStatement(db, ms))
  const usuarioExists = async (usuarioId: number): Promise<boolean> =>
    (await db.selectFrom('usuarios').select('id').where('id', '=', usuarioId).executeTakeFirst()) !== undefined
  /** The sum of each payment's completed refunds, integer cents (absent: none). */
  const reembolsadoCentimos = async (pagoIds: string[]): Promise<Map<string, number>> => {
    if (pagoIds.length === 0) return new Map()
    const rows = await db.selectFrom('reembolsos').select(['pago_id', (eb) => eb.fn.sum<number>('monto_centimos').as('n')])
      .where('pago_id', 'in', pagoIds).where('estado', '=', 'completado').groupBy('pago_id').execute()
    return new Map(rows.map((r) => [r.pago_id, Number(r.n)]))
  }

  return {
    /**
     * One transaction: check and debit the balance (a guarded UPDATE, so two
     * concurrent payments can never overdraw), record the payment `pendiente`
     * with its `pago` movement and write `pago.solicitado` to the outbox. Insufficient funds change
     * nothing. With an Idempotency-Key the answer (usuarios/answers.ts) is
     * kept with the effect; an unknown usuario keeps nothing. On PostgreSQL
     * the payments without a key of one turn are one statement
     * (one-statement.ts pagarBatch), and only a
     * payment it did not debit goes on to the transaction (which says why,
     * or debits it if it fits on its own). On SQLite the debit and its rows
     * are hand-written statements (sqlite-hot.ts); the Kysely statements
     * below then run only to say why a payment was not debited.
     */
    async pagar (s: PagoRequest): Promise<PagarOutcome> {
      if (oneStatement && s.idempotencyKey === undefined) {
        const accepted = await debitar(s)
        if (accepted !== undefined) {
          onOutbox()
          return accepted
        }
      }
      const key = s.idempotencyKey === undefined ? undefined : { usuarioId: s.usuarioId, operation: 'pagar' as const, key: s.idempotencyKey }
      // A SHA-256 per payment only when there is a key to compare it with.
      const requestFingerprint = key === undefined ? '' : fingerprint({ montoCentimos: s.montoCentimos, concepto: s.concepto })
      const outcome = await idempotent(transact, key, requestFingerprint, async (trx): Promise<Accepted | InsufficientFunds | UsuarioNotFound> => {
        const debited = hot === undefined ? undefined : debitarEnSqlite(hot, s)
        if (debited !== undefined) return debited
        const usuario = await trx.updateTable('usuarios')
          .set((eb) => ({ saldo_centimos: eb('saldo_centimos', '-', centimosSql(s.montoCentimos)) }))
          .where('id', '=', s.usuarioId).where('saldo_centimos', '>=', centimosSql(s.montoCentimos))
          .returningAll().executeTakeFirst()
        if (usuario === undefined) {
          const current = await trx.selectFrom('usuarios').select('saldo_centimos').where('id', '=', s.usuarioId).executeTakeFirst()
          if (current === undefined) return { kind: 'usuario-not-found' }
          return { kind: 'insufficient-funds', saldoCentimos: current.saldo_centimos, montoCentimos: s.montoCentimos }
        }
        const now = new Date().toISOString()
        const pago = await trx.insertInto('pagos').values(pagoPendienteRow(s, now)).returningAll().executeTakeFirstOrThrow()
        await appendMovimiento(trx, {
          usuarioId: s.usuarioId, tipo: 'pago', montoCentimos: -s.montoCentimos, saldoCentimos: usuario.saldo_centimos, referencia: pago.id, fecha: now
        })
        await trx.insertInto('outbox').values(pagoSolicitadoRow(pago)).execute()
        return { kind: 'accepted', usuario: toUsuario(usuario), pago: toPagoAceptado(pago) }
      }, (o) => o.kind === 'usuario-not-found' ? undefined : pagarAnswer(o))
      if (outcome.kind === 'accepted') onOutbox()
      return outcome
    },

    /**
     * Applies a `pago.procesado` exactly once: the payment leaves `pendiente`
     * through a guarded UPDATE, and a `fallido` refunds the amount (its
     * `devolucion` movement) in the same transaction. A repeat of the same result is a duplicate; anything that
     * contradicts what we recorded is refused (dead-lettered by the caller).
     * On PostgreSQL the row is locked first, so two instances applying results
     * for one payment see each other's outcome rather than a stale `pendiente`;
     * there the common case (a `pendiente` payment that matches) is one
     * statement (for all the `completado` results of one turn together), and only a message it did not apply goes on to the
     * transaction, which tells a duplicate from a refusal. On SQLite a
     * `completado` that matches is one hand-written statement inside the
     * transaction (sqlite-hot.ts).
     */
    async applyPagoProcesado (m: PagoProcesadoV1): Promise<ApplyOutcome> {
      if (oneStatement && await (m.estado === 'completado' ? completar(m) : applyPagoProcesadoInOneStatement(db, m))) return { kind: 'applied' }
      return await transact(async (trx): Promise<ApplyOutcome> => {
        if (hot !== undefined && m.estado === 'completado' && completarEnSqlite(hot, m)) return { kind: 'applied' }
        const pago = await trx.selectFrom('pagos').selectAll().where('id', '=', m.pagoId)
          .$if(hasRowLocks(trx), (q) => q.forUpdate()).executeTakeFirst()
        if (pago === undefined) return { kind: 'refused', reason: `pago ${m.pagoId} desconocido` }
        if (pago.usuario_id !== m.usuarioId || pago.monto_centimos !== m.montoCentimos) {
          return { kind: 'refused', reason: `pago ${m.pagoId}: usuario o monto no coinciden con lo registrado` }
        }
        if (pago.estado !== 'pendiente') {
          return pago.estado === m.estado
            ? { kind: 'duplicate' }
            : { kind: 'refused', reason: `pago ${m.pagoId} ya está ${pago.estado}, llegó ${m.estado}` }
        }
        const updated = await trx.updateTable('pagos')
          .set({ estado: m.estado, motivo: m.motivo, actualizado_en: new Date().toISOString() })
          .where('id', '=', m.pagoId).where('estado', '=', 'pendiente').executeTakeFirst()
        if (Number(updated.numUpdatedRows) !== 1) return { kind: 'duplicate' }
        if (m.estado === 'fallido') {
          const usuario = await trx.updateTable('usuarios')
            .set((eb) => ({ saldo_centimos: eb('saldo_centimos', '+', centimosSql(pago.monto_centimos)) }))
            .where('id', '=', pago.usuario_id).returning('saldo_centimos').executeTakeFirstOrThrow()
          // Dated after the UPDATE (whose lock orders the usuario's movements), so fechas follow ids.
          await appendMovimiento(trx, {
            usuarioId: pago.usuario_id, tipo: 'devolucion', montoCentimos: pago.monto_centimos, saldoCentimos: usuario.saldo_centimos, referencia: pago.id, fecha: new Date().toISOString()
          })
        }
        return { kind: 'applied' }
      })
    },

    /** A page of the usuario's payments, newest first, optionally of one estado; undefined if there is no such usuario. */
    async list (usuarioId: number, q: { estado?: EstadoPago, limit: number, offset: number }): Promise<PagosPage | undefined> {
      if (!(await usuarioExists(usuarioId))) return undefined
      let query = db.selectFrom('pagos').where('usuario_id', '=', usuarioId)
      if (q.estado !== undefined) query = query.where('estado', '=', q.estado)
      const rows = await query.selectAll().orderBy('creado_en', 'desc').orderBy('id').limit(q.limit).offset(q.offset).execute()
      const { n } = await query.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
      const refunded = await reembolsadoCentimos(rows.map((r) => r.id))
      return { pagos: rows.map((r) => toPagoUsuario(r, refunded.get(r.id))), total: Number(n) }
    },

    /** One payment of the usuario, or which of the two is missing. */
    async find (usuarioId: number, pagoId: string): Promise<{ kind: 'found', pago: PagoUsuario } | UsuarioNotFound | { kind: 'pago-not-found' }> {
      const row = await db.selectFrom('pagos').selectAll().where('id', '=', pagoId).where('usuario_id', '=', usuarioId).executeTakeFirst()
      if (row !== undefined) return { kind: 'found', pago: toPagoUsuario(row, (await reembolsadoCentimos([row.id])).get(row.id)) }
      return await usuarioExists(usuarioId) ? { kind: 'pago-not-found' } : { kind: 'usuario-not-found' }
    }
  }
}
export type CuentaPagosStore = ReturnType<typeof createCuentaPagosStore>

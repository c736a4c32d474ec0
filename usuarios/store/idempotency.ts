import { createHash } from 'node:crypto'
import type { Transaction } from 'kysely'
import type { Transact } from '../../lib/storage/group-commit.js'
import type { UsuariosDatabase } from './schema.js'

/** Whose request a client's Idempotency-Key names: columns `usuario_id`, `operacion`, `clave`. */
export interface IdempotencyKey {
  usuarioId: number
  operation: 'pagar' | 'recargar' | 'reembolsar'
  /** The Idempotency-Key header, as sent. */
  key: string
}

/**
 * The HTTP answer kept under a key: the status and the JSON body first sent
 * (columns `status` and `respuesta`).
 *
 * What is stored is the answer, not the store's outcome, exactly as every
 * version since migration 0001 has stored it: the route's mapping
 * (usuarios/answers.ts) turns the outcome into this answer inside the
 * transaction, and a replay sends the stored answer as it is. So a row
 * written before the stores returned outcomes replays the same bytes, and
 * instances of the old and the new version on one database read each
 * other's rows.
 */
export interface StoredAnswer<B = unknown> {
  status: number
  body: B
}

/** A retry of a request already answered: its first answer, as stored. */
export interface Replayed {
  kind: 'replayed'
  answer: StoredAnswer
}

/** The key was used before with another request: nothing was done (the route answers 422). */
export interface KeyReused {
  kind: 'key-reused'
}

/** Same request = same operation, amount (in cents) and concept, whatever the JSON spelling: a SHA-256, hex. */
export function fingerprint (request: Record<string, string | number | null>): string {
  const canonical = JSON.stringify(Object.keys(request).sort().map((k) => [k, request[k]]))
  return createHash('sha256').update(canonical).digest('hex')
}

/** Thrown inside the transaction to roll it back (the claimed key with it); caught outside to hand back the outcome. */
class Unrecorded<O> extends Error {
  constructor (readonly outcome: O) {
    super('outcome not recorded under its Idempotency-Key')
  }
}

/**
 * Runs `compute` in one transaction, once per key: a retry with the same key
 * and request gets `replayed` with the stored answer and changes nothing; the
 * same key with another request gets `key-reused`. The key row commits with
 * the effect, so a crash leaves either both or neither. Without a key,
 * `compute` just runs in a transaction.
 *
 * `answer` gives the answer to keep for an outcome, or undefined for one
 * that must leave no trace (a usuario that does not exist): then the
 * transaction rolls back, key included, and a later retry is a new request.
 *
 * The key is claimed before the work: on PostgreSQL a concurrent request with
 * the same key (on another instance) waits on that row until this transaction
 * ends, then finds the committed answer instead of paying a second time.
 */
export async function idempotent<O> (
  transact: Transact<UsuariosDatabase>,
  key: IdempotencyKey | undefined,
  requestFingerprint: string,
  compute: (trx: Transaction<UsuariosDatabase>) => Promise<O>,
  answer: (outcome: O) => StoredAnswer | undefined
): Promise<O | Replayed | KeyReused> {
  try {
    return await transact(async (trx): Promise<O | Replayed | KeyReused> => {
      if (key === undefined) return await compute(trx)
      const claimed = await trx.insertInto('idempotencia').values({
        usuario_id: key.usuarioId,
        operacion: key.operation,
        clave: key.key,
        huella: requestFingerprint,
        status: 0,
        respuesta: '',
        creado_en: new Date().toISOString()
      }).onConflict((oc) => oc.columns(['usuario_id', 'operacion', 'clave']).doNothing()).executeTakeFirst()
      if (Number(claimed.numInsertedOrUpdatedRows ?? 0) === 0) {
        const previous = await trx.selectFrom('idempotencia').selectAll()
          .where('usuario_id', '=', key.usuarioId).where('operacion', '=', key.operation).where('clave', '=', key.key)
          .executeTakeFirstOrThrow()
        if (previous.huella !== requestFingerprint) return { kind: 'key-reused' }
        return { kind: 'replayed', answer: { status: previous.status, body: JSON.parse(previous.respuesta) } }
      }
      const outcome = await compute(trx)
      const kept = answer(outcome)
      if (kept === undefined) throw new Unrecorded(outcome)
      await trx.updateTable('idempotencia')
        .set({ status: kept.status, respuesta: JSON.stringify(kept.body) })
        .where('usuario_id', '=', key.usuarioId).where('operacion', '=', key.operation).where('clave', '=', key.key)
        .execute()
      return outcome
    })
  } catch (err) {
    if (err instanceof Unrecorded) return err.outcome as O
    throw err
  }
}

/** Keys are kept at least `ttlHours`; older ones are deleted. Resolves with the number deleted. */
export async function purgeIdempotencyKeys (db: { deleteFrom: Transaction<UsuariosDatabase>['deleteFrom'] }, ttlHours: number): Promise<number> {
  const cutoff = new Date(Date.now() - ttlHours * 3_600_000).toISOString()
  const result = await db.deleteFrom('idempotencia').where('creado_en', '<', cutoff).executeTakeFirst()
  return Number(result.numDeletedRows)
}

import { createHash } from 'node:crypto'
import type { Transaction } from 'kysely'
import { IdempotencyKeyReutilizada } from '../errors.js'
import type { UsuariosDatabase } from './schema.js'

export interface IdempotencyKey {
  usuarioId: number
  operacion: 'pagar' | 'recargar'
  clave: string
}

export interface Stored<R> { status: number, body: R }

/** Same request = same operation, amount (in cents) and concept, whatever the JSON spelling. */
export function huella (request: Record<string, string | number | null>): string {
  const canonical = JSON.stringify(Object.keys(request).sort().map((k) => [k, request[k]]))
  return createHash('sha256').update(canonical).digest('hex')
}

/**
 * Runs `compute` once per key, inside the caller's transaction: a retry with
 * the same key and request gets the stored answer and changes nothing; the
 * same key with another request is a 422. The key row commits with the effect,
 * so a crash leaves either both or neither.
 *
 * The key is claimed before the work: on PostgreSQL a concurrent request with
 * the same key (on another instance) waits on that row until this transaction
 * ends, then finds the committed answer instead of paying a second time.
 */
export async function withIdempotency<R> (
  trx: Transaction<UsuariosDatabase>,
  key: IdempotencyKey | undefined,
  fingerprint: string,
  compute: () => Promise<Stored<R>>
): Promise<Stored<R> & { replayed: boolean }> {
  if (key === undefined) return { ...(await compute()), replayed: false }
  const claimed = await trx.insertInto('idempotencia').values({
    usuario_id: key.usuarioId,
    operacion: key.operacion,
    clave: key.clave,
    huella: fingerprint,
    status: 0,
    respuesta: '',
    creado_en: new Date().toISOString()
  }).onConflict((oc) => oc.columns(['usuario_id', 'operacion', 'clave']).doNothing()).executeTakeFirst()
  if (Number(claimed.numInsertedOrUpdatedRows ?? 0) === 0) {
    const previous = await trx.selectFrom('idempotencia').selectAll()
      .where('usuario_id', '=', key.usuarioId).where('operacion', '=', key.operacion).where('clave', '=', key.clave)
      .executeTakeFirstOrThrow()
    if (previous.huella !== fingerprint) throw new IdempotencyKeyReutilizada()
    return { status: previous.status, body: JSON.parse(previous.respuesta) as R, replayed: true }
  }
  const result = await compute()
  await trx.updateTable('idempotencia')
    .set({ status: result.status, respuesta: JSON.stringify(result.body) })
    .where('usuario_id', '=', key.usuarioId).where('operacion', '=', key.operacion).where('clave', '=', key.clave)
    .execute()
  return { ...result, replayed: false }
}

/** Keys are kept at least `ttlHours`; older ones are deleted. */
export async function purgeIdempotencyKeys (db: { deleteFrom: Transaction<UsuariosDatabase>['deleteFrom'] }, ttlHours: number): Promise<number> {
  const cutoff = new Date(Date.now() - ttlHours * 3_600_000).toISOString()
  const result = await db.deleteFrom('idempotencia').where('creado_en', '<', cutoff).executeTakeFirst()
  return Number(result.numDeletedRows)
}

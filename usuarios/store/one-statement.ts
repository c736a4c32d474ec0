import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import type { PagoProcesadoV1 } from '../../contracts/messages.js'
import { SALDO_MAXIMO_CENTIMOS } from '../../contracts/money.js'
import { centimosSql, pgNowIso } from '../../lib/storage/db.js'
import type { Accepted } from './outcomes.js'
import type { UsuariosDb } from './schema.js'
import { pagoSolicitadoRow, toPagoAceptado, toUsuario } from './views.js'

/*
 * PostgreSQL only: the two hot steps of a payment in usuarios, for all the
 * payments (or all the `completado` results) of one turn together, in a
 * few round trips per batch instead of several per payment. They write
 * exactly what the transactions of cuenta-pagos-store.ts write on SQLite
 * (same rows, same guards, usuario rows locked before their movements are
 * written); the rare outcomes (insufficient funds, unknown usuario,
 * duplicate, refused) are left to those transactions, which say why.
 *
 * The transactions turn every balance they change into money inside the
 * transaction (a RangeError for one that cannot be shown exactly rolls
 * them back); these touch only balances that stay within SALDO_MAXIMO and
 * leave any other (a row written by hand, or before the ceiling existed) to
 * the transaction, which handles it as before. Within the ceiling is the
 * only case the API itself can produce.
 */
const CEILING = centimosSql(SALDO_MAXIMO_CENTIMOS)

/** A payment to debit (see cuenta-pagos-store.ts PagoRequest; no Idempotency-Key). */
export interface Debito { usuarioId: number, montoCentimos: number, concepto: string | null, correlationId: string | null }

/**
 * For a batch of payments (those of one turn): in one transaction, locks
 * their usuarios in id order (so that instances never deadlock on them),
 * accepts each payment in batch order if the saldo left by the earlier
 * ones covers it, then in one statement debits each usuario once and
 * records each accepted payment `pendiente`, with its `pago` movement (the
 * saldo right after it) and its `pago.solicitado` outbox row. Four round
 * trips for the whole batch (BEGIN, the lock, the writes, COMMIT).
 * Resolves per payment, in order, `accepted` or undefined when it was not
 * debited (no such usuario, insufficient funds, a saldo past the ceiling):
 * the caller runs those through the transaction, which says why.
 */
export async function pagarBatch (db: UsuariosDb, debitos: Debito[]): Promise<Array<Accepted | undefined>> {
  for (const d of debitos) centimosSql(d.montoCentimos) // a RangeError for anything but integer cents, as on SQLite
  return await db.transaction().execute(async (trx) => {
    const { rows: usuarios } = await sql<{ id: number, nombre: string, saldo_centimos: number, creado_en: string }>`
      select id, nombre, saldo_centimos, creado_en from usuarios
      where id = any(cast(${[...new Set(debitos.map((d) => d.usuarioId))]} as bigint[])) and saldo_centimos <= ${CEILING}
      order by id for update`.execute(trx)
    // Dated after the lock, so a usuario's movements are dated in id order.
    const ahora = new Date().toISOString()
    const saldos = new Map(usuarios.map((u) => [u.id, u.saldo_centimos]))
    const hechos = debitos.map((d) => {
      const saldo = saldos.get(d.usuarioId)
      if (saldo === undefined || saldo < d.montoCentimos) return undefined
      saldos.set(d.usuarioId, saldo - d.montoCentimos)
      const row = { id: randomUUID(), usuario_id: d.usuarioId, monto_centimos: d.montoCentimos, concepto: d.concepto, estado: 'pendiente' as const, motivo: null, correlation_id: d.correlationId, creado_en: ahora, actualizado_en: ahora, reenviado_en: null }
      return { row, saldoDespues: saldo - d.montoCentimos, mensaje: pagoSolicitadoRow(row) }
    })
    const ok = hechos.filter((h) => h !== undefined)
    if (ok.length === 0) return hechos.map(() => undefined)
    const debitados = usuarios.filter((u) => saldos.get(u.id) !== u.saldo_centimos)
    await sql`
      with debito as (
        update usuarios set saldo_centimos = nuevo.saldo_centimos
        from unnest(cast(${debitados.map((u) => u.id)} as bigint[]), cast(${debitados.map((u) => saldos.get(u.id))} as bigint[])) as nuevo(id, saldo_centimos)
        where usuarios.id = nuevo.id
      ), pago as (
        insert into pagos (id, usuario_id, monto_centimos, concepto, estado, motivo, correlation_id, creado_en, actualizado_en)
        select id, usuario_id, monto_centimos, concepto, 'pendiente', null, correlation_id, ${ahora}, ${ahora}
        from unnest(cast(${ok.map((h) => h.row.id)} as text[]), cast(${ok.map((h) => h.row.usuario_id)} as bigint[]), cast(${ok.map((h) => h.row.monto_centimos)} as bigint[]),
          cast(${ok.map((h) => h.row.concepto)} as text[]), cast(${ok.map((h) => h.row.correlation_id)} as text[])) as p(id, usuario_id, monto_centimos, concepto, correlation_id)
      ), movimiento as (
        insert into movimientos (usuario_id, tipo, monto_centimos, saldo_centimos, referencia, creado_en)
        select usuario_id, 'pago', -monto_centimos, saldo_centimos, referencia, ${ahora}
        from unnest(cast(${ok.map((h) => h.row.usuario_id)} as bigint[]), cast(${ok.map((h) => h.row.monto_centimos)} as bigint[]),
          cast(${ok.map((h) => h.saldoDespues)} as bigint[]), cast(${ok.map((h) => h.row.id)} as text[])) with ordinality as m(usuario_id, monto_centimos, saldo_centimos, referencia, n)
        order by n
      )
      insert into outbox (tipo, message_id, correlation_id, payload, creado_en)
      select tipo, message_id, correlation_id, payload, creado_en
      from unnest(cast(${ok.map((h) => h.mensaje.tipo)} as text[]), cast(${ok.map((h) => h.mensaje.message_id)} as text[]), cast(${ok.map((h) => h.mensaje.correlation_id)} as text[]),
        cast(${ok.map((h) => h.mensaje.payload)} as text[]), cast(${ok.map((h) => h.mensaje.creado_en)} as text[])) with ordinality as o(tipo, message_id, correlation_id, payload, creado_en, n)
      order by n`.execute(trx)
    const porId = new Map(usuarios.map((u) => [u.id, u]))
    return hechos.map((h): Accepted | undefined => h === undefined
      ? undefined
      : {
          kind: 'accepted',
          usuario: toUsuario({ ...porId.get(h.row.usuario_id)!, saldo_centimos: h.saldoDespues, saldo_inicial_centimos: 0 }),
          pago: toPagoAceptado(h.row)
        })
  })
}

/**
 * One statement (atomic on its own, committed when it returns): moves a
 * `pendiente` payment to the message's estado if usuario and monto
 * match what was recorded; a `fallido` also gives the amount back with its
 * `devolucion` movement. Resolves true when it did; false when it changed
 * nothing (unknown, mismatched or already settled: the caller's
 * transaction tells which).
 */
export async function applyPagoProcesadoInOneStatement (db: UsuariosDb, m: PagoProcesadoV1): Promise<boolean> {
  const fallido = sql<boolean>`cast(${m.estado === 'fallido'} as boolean)`
  const { rows } = await sql<{ aplicados: number }>`
    with aplicado as (
      update pagos set estado = cast(${m.estado} as text), motivo = cast(${m.motivo} as text), actualizado_en = ${pgNowIso}
      where id = cast(${m.pagoId} as text) and estado = 'pendiente'
        and usuario_id = cast(${m.usuarioId} as bigint) and monto_centimos = ${centimosSql(m.montoCentimos)}
        and (not ${fallido} or exists (select 1 from usuarios u where u.id = pagos.usuario_id and u.saldo_centimos + pagos.monto_centimos <= ${CEILING}))
      returning id, usuario_id, monto_centimos
    ), devuelto as (
      update usuarios set saldo_centimos = usuarios.saldo_centimos + aplicado.monto_centimos
      from aplicado
      where usuarios.id = aplicado.usuario_id and ${fallido}
      returning usuarios.id, usuarios.saldo_centimos, aplicado.monto_centimos, aplicado.id as pago_id
    ), movimiento as (
      insert into movimientos (usuario_id, tipo, monto_centimos, saldo_centimos, referencia, creado_en)
      select id, 'devolucion', monto_centimos, saldo_centimos, pago_id, ${pgNowIso} from devuelto
    )
    select count(*) as aplicados from aplicado`.execute(db)
  return Number(rows[0]?.aplicados ?? 0) === 1
}

/**
 * applyPagoProcesadoInOneStatement (dated by the server's clock) for a batch of `completado` results (no
 * balance changes, so no usuario row is touched twice), in one statement:
 * resolves, per message and in order, whether it completed its payment.
 * Of several messages for one payment only the first can.
 */
export async function completarPagosInOneStatement (db: UsuariosDb, ms: PagoProcesadoV1[]): Promise<boolean[]> {
  const { rows } = await sql<{ id: string }>`
    with entrada as (
      select * from unnest(cast(${ms.map((m) => m.pagoId)} as text[]), cast(${ms.map((m) => m.usuarioId)} as bigint[]),
        cast(${ms.map((m) => m.montoCentimos)} as bigint[]), cast(${ms.map((m) => m.motivo)} as text[]))
        as e(id, usuario_id, monto_centimos, motivo)
    )
    update pagos set estado = 'completado', motivo = entrada.motivo, actualizado_en = ${pgNowIso}
    from entrada
    where pagos.id = entrada.id and pagos.estado = 'pendiente'
      and pagos.usuario_id = entrada.usuario_id and pagos.monto_centimos = entrada.monto_centimos
    returning pagos.id`.execute(db)
  const completed = new Set(rows.map((r) => r.id))
  return ms.map((m) => completed.delete(m.pagoId))
}

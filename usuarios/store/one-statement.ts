import { sql } from 'kysely'
import type { PagoProcesadoV1 } from '../../contracts/messages.js'
import { SALDO_MAXIMO_CENTIMOS } from '../../contracts/money.js'
import { centimosSql, pgNowIso } from '../../lib/storage/db.js'
import type { Accepted } from './outcomes.js'
import type { UsuariosDb } from './schema.js'
import { pagoPendienteRow, pagoSolicitadoRow, toPagoAceptado, toUsuario } from './views.js'

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
 * For a batch of payments (those of one turn), ONE statement (atomic on its
 * own, committed when it returns, one round trip): locks their usuarios in
 * id order (instances never deadlock on them), debits each usuario once by
 * the sum of its payments in the batch if its saldo covers them all, and
 * records each of those payments `pendiente`, with its `pago` movement (the
 * saldo right after it, in batch order) and its `pago.solicitado` outbox
 * row, dated by the server after the lock. Resolves per payment, in order,
 * `accepted` or undefined when it was not debited (no such usuario, a saldo
 * that does not cover all of that usuario's payments of the batch, a saldo
 * past the ceiling): the caller runs those through the serial transaction,
 * which debits the ones that fit and says why for the others.
 */
export async function pagarBatch (db: UsuariosDb, debitos: Debito[]): Promise<Array<Accepted | undefined>> {
  for (const d of debitos) centimosSql(d.montoCentimos) // a RangeError for anything but integer cents, as on SQLite
  const pagos = debitos.map((d) => {
    // The payment and its message without their instant, which the statement adds (solicitadoEn = creado_en).
    const row = pagoPendienteRow(d, '')
    const { solicitadoEn: _, ...payload } = JSON.parse(pagoSolicitadoRow(row).payload) as Record<string, unknown>
    return { row, payload: JSON.stringify(payload) }
  })
  const { rows } = await sql<{ pago_id: string, id: number, nombre: string, creado_en: string, saldo_despues: number, ahora: string }>`
    with entrada as (
      select * from unnest(cast(${pagos.map((p) => p.row.id)} as text[]), cast(${debitos.map((d) => d.usuarioId)} as bigint[]),
        cast(${debitos.map((d) => d.montoCentimos)} as bigint[]), cast(${debitos.map((d) => d.concepto)} as text[]),
        cast(${debitos.map((d) => d.correlationId)} as text[]), cast(${pagos.map((p) => p.payload)} as text[]))
        with ordinality as e(id, usuario_id, monto_centimos, concepto, correlation_id, payload, n)
    ), bloqueado as (
      -- Only the lock, in id order: the UPDATE below touches no row not locked here first.
      select id from usuarios where id in (select usuario_id from entrada) order by id for update
    ), total as (
      select e.usuario_id, cast(sum(e.monto_centimos) as bigint) as total
      from entrada e join bloqueado b on b.id = e.usuario_id group by e.usuario_id
    ), debitado as (
      update usuarios set saldo_centimos = usuarios.saldo_centimos - total.total
      from total
      where usuarios.id = total.usuario_id and usuarios.saldo_centimos >= total.total and usuarios.saldo_centimos <= ${CEILING}
      returning usuarios.id, usuarios.nombre, usuarios.creado_en, usuarios.saldo_centimos + total.total as saldo_antes
    ), ahora as (
      select ${pgNowIso} as t from (select 1 from debitado limit 1) d
    ), hecho as (
      select e.*, d.nombre, d.creado_en as usuario_creado_en, ahora.t,
        cast(d.saldo_antes - sum(e.monto_centimos) over (partition by e.usuario_id order by e.n) as bigint) as saldo_despues
      from entrada e join debitado d on d.id = e.usuario_id cross join ahora
    ), pago as (
      insert into pagos (id, usuario_id, monto_centimos, concepto, estado, motivo, correlation_id, creado_en, actualizado_en)
      select id, usuario_id, monto_centimos, concepto, 'pendiente', null, correlation_id, t, t from hecho order by n
    ), movimiento as (
      insert into movimientos (usuario_id, tipo, monto_centimos, saldo_centimos, referencia, creado_en)
      select usuario_id, 'pago', -monto_centimos, saldo_despues, id, t from hecho order by n
    ), mensaje as (
      insert into outbox (tipo, message_id, correlation_id, payload, creado_en)
      select 'pago.solicitado', id, correlation_id, (cast(payload as jsonb) || jsonb_build_object('solicitadoEn', t))::text, t from hecho order by n
    )
    select id as pago_id, usuario_id as id, nombre, usuario_creado_en as creado_en, saldo_despues, t as ahora from hecho`.execute(db)
  const done = new Map(rows.map((r) => [r.pago_id, r]))
  return pagos.map(({ row }): Accepted | undefined => {
    const r = done.get(row.id)
    if (r === undefined) return undefined
    return {
      kind: 'accepted',
      usuario: toUsuario({ id: r.id, nombre: r.nombre, saldo_centimos: r.saldo_despues, saldo_inicial_centimos: 0, creado_en: r.creado_en }),
      pago: toPagoAceptado({ ...row, creado_en: r.ahora, actualizado_en: r.ahora })
    }
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

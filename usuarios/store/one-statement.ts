import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import type { PagoProcesadoV1 } from '../../contracts/messages.js'
import { SALDO_MAXIMO_CENTIMOS } from '../../contracts/money.js'
import { centimosSql, pgNowIso } from '../../lib/storage/db.js'
import type { Accepted } from './outcomes.js'
import type { UsuariosDb } from './schema.js'
import { pagoSolicitadoRow, toPagoAceptado, toUsuario } from './views.js'

/*
 * PostgreSQL only: the two hot steps of a payment in usuarios as ONE
 * statement each (data-modifying CTEs), one round trip and no BEGIN/COMMIT:
 * a statement is atomic on its own, and it has committed when it returns.
 * They do exactly what the transactions of cuenta-pagos-store.ts do on
 * SQLite (same rows, same guards, same lock order: the usuario row before
 * its movement, the pago row before the usuario row); the rare outcomes
 * (insufficient funds, duplicate, refused) are left to those transactions.
 * Movements are dated by the server after the row lock (pgNowIso), so a
 * usuario's movements are dated in id order.
 *
 * The transactions turn every balance they change into money inside the
 * transaction (a RangeError for one that cannot be shown exactly rolls
 * them back); these statements commit before anything is read, so they
 * touch only balances that stay within SALDO_MAXIMO and leave any other
 * (a row written by hand, or before the ceiling existed) to the
 * transaction, which handles it as before. Within the ceiling is the only
 * case the API itself can produce.
 */
const CEILING = centimosSql(SALDO_MAXIMO_CENTIMOS)

/**
 * Debits `montoCentimos` if the saldo covers it, records the payment
 * `pendiente`, its `pago` movement and its `pago.solicitado` outbox row.
 * Resolves `accepted`, or undefined when nothing was debited (no such
 * usuario, or insufficient funds: the caller tells which).
 */
export async function pagarInOneStatement (db: UsuariosDb, s: { usuarioId: number, montoCentimos: number, concepto: string | null, correlationId: string | null }): Promise<Accepted | undefined> {
  const id = randomUUID()
  const monto = centimosSql(s.montoCentimos)
  // The message without its instant, which the statement adds (solicitadoEn = the payment's creado_en).
  const template = { id, usuario_id: s.usuarioId, monto_centimos: s.montoCentimos, concepto: s.concepto, estado: 'pendiente' as const, motivo: null, correlation_id: s.correlationId, creado_en: '', actualizado_en: '', reenviado_en: null }
  const mensaje = pagoSolicitadoRow(template)
  const { solicitadoEn: _, ...payload } = JSON.parse(mensaje.payload) as Record<string, unknown>
  const { rows } = await sql<{ id: number, nombre: string, saldo_centimos: number, creado_en: string, ahora: string }>`
    with debitado as (
      update usuarios set saldo_centimos = saldo_centimos - ${monto}
      where id = cast(${s.usuarioId} as bigint) and saldo_centimos >= ${monto} and saldo_centimos <= ${CEILING}
      returning id, nombre, saldo_centimos, creado_en
    ), ahora as (
      select ${pgNowIso} as t from debitado
    ), pago as (
      insert into pagos (id, usuario_id, monto_centimos, concepto, estado, motivo, correlation_id, creado_en, actualizado_en)
      select cast(${id} as text), debitado.id, ${monto}, cast(${s.concepto} as text), 'pendiente', null, cast(${s.correlationId} as text), ahora.t, ahora.t
      from debitado, ahora
    ), movimiento as (
      insert into movimientos (usuario_id, tipo, monto_centimos, saldo_centimos, referencia, creado_en)
      select debitado.id, 'pago', -${monto}, debitado.saldo_centimos, cast(${id} as text), ahora.t
      from debitado, ahora
    ), mensaje as (
      insert into outbox (tipo, message_id, correlation_id, payload, creado_en)
      select cast(${mensaje.tipo} as text), cast(${id} as text), cast(${s.correlationId} as text),
        (cast(${JSON.stringify(payload)} as jsonb) || jsonb_build_object('solicitadoEn', ahora.t))::text, ahora.t
      from ahora
    )
    select debitado.id, debitado.nombre, debitado.saldo_centimos, debitado.creado_en, ahora.t as ahora from debitado, ahora`.execute(db)
  const row = rows[0]
  if (row === undefined) return undefined
  return {
    kind: 'accepted',
    usuario: toUsuario({ ...row, saldo_inicial_centimos: 0 }),
    pago: toPagoAceptado({ ...template, creado_en: row.ahora, actualizado_en: row.ahora })
  }
}

/**
 * Moves a `pendiente` payment to the message's estado if usuario and monto
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
 * applyPagoProcesadoInOneStatement for a batch of `completado` results (no
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

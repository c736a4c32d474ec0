import { randomUUID } from 'node:crypto'
import { fromCentimos } from '../../contracts/money.js'
import type { Reembolso } from '../../contracts/http/reembolsos.js'
import type { PagoAceptado, PagoUsuario, Usuario } from '../../contracts/http/usuarios.js'
import { outboxRow } from '../../lib/messaging/outbox-relay.js'
import type { CuentaPagosTable, ReembolsosTable, UsuariosTable } from './schema.js'
import type { Selectable } from 'kysely'

/* Rows (integer cents) to API bodies (JSON numbers). */

/** A `usuarios` row as the API shows it: `saldo` in money. */
export function toUsuario (row: Selectable<UsuariosTable>): Usuario {
  return { id: row.id, nombre: row.nombre, saldo: fromCentimos(row.saldo_centimos), creadoEn: row.creado_en }
}

/**
 * The row of a payment just accepted: a new id, `pendiente`, dated `now`
 * (ISO 8601) for both creadoEn and actualizadoEn; `montoCentimos` in integer cents.
 */
export function pagoPendienteRow (s: { usuarioId: number, montoCentimos: number, concepto: string | null, correlationId: string | null }, now: string): Selectable<CuentaPagosTable> {
  return {
    id: randomUUID(),
    usuario_id: s.usuarioId,
    monto_centimos: s.montoCentimos,
    concepto: s.concepto,
    estado: 'pendiente',
    motivo: null,
    correlation_id: s.correlationId,
    creado_en: now,
    actualizado_en: now,
    reenviado_en: null
  }
}

/** A row of the account's payments as `pagar` answers it, just accepted: `monto` in money. */
export function toPagoAceptado (row: Selectable<CuentaPagosTable>): PagoAceptado {
  return {
    id: row.id,
    usuarioId: row.usuario_id,
    estado: row.estado,
    monto: fromCentimos(row.monto_centimos),
    concepto: row.concepto,
    motivo: row.motivo,
    creadoEn: row.creado_en,
    actualizadoEn: row.actualizado_en
  }
}

/** A payment as its views show it: `reembolsadoCentimos` (integer cents) is the sum of its completed refunds; both amounts in money. */
export function toPagoUsuario (row: Selectable<CuentaPagosTable>, reembolsadoCentimos = 0): PagoUsuario {
  return { ...toPagoAceptado(row), reembolsado: fromCentimos(reembolsadoCentimos) }
}

/** A refund as the API shows it: `monto` in money. */
export function toReembolso (row: Selectable<ReembolsosTable>): Reembolso {
  return {
    id: row.id,
    pagoId: row.pago_id,
    estado: row.estado,
    monto: fromCentimos(row.monto_centimos),
    motivo: row.motivo,
    motivoFallo: row.motivo_fallo,
    creadoEn: row.creado_en,
    actualizadoEn: row.actualizado_en
  }
}

/** The outbox row that asks pagos for `reembolso`: `reembolso.solicitado` v1, messageId = refund id. Written on request and by the re-send sweep. */
export function reembolsoSolicitadoRow (r: Selectable<ReembolsosTable>) {
  return outboxRow('reembolso.solicitado', {
    tipo: 'reembolso.solicitado',
    version: 1,
    reembolsoId: r.id,
    pagoId: r.pago_id,
    usuarioId: r.usuario_id,
    montoCentimos: r.monto_centimos,
    motivo: r.motivo,
    solicitadoEn: r.creado_en
  }, { messageId: r.id, correlationId: r.correlation_id })
}

/**
 * The outbox row that asks pagos to process `pago`: `pago.solicitado` v1 with
 * the payment id as messageId and the request id it came with as
 * correlationId. Written when the payment is accepted and again by the
 * re-send sweep (resend-store.ts): the same message both times.
 */
export function pagoSolicitadoRow (pago: Selectable<CuentaPagosTable>) {
  return outboxRow('pago.solicitado', {
    tipo: 'pago.solicitado',
    version: 1,
    pagoId: pago.id,
    usuarioId: pago.usuario_id,
    montoCentimos: pago.monto_centimos,
    concepto: pago.concepto,
    solicitadoEn: pago.creado_en
  }, { messageId: pago.id, correlationId: pago.correlation_id })
}

import { fromCentimos } from '../../contracts/money.js'
import type { PagoUsuario, Usuario } from '../../contracts/http/usuarios.js'
import { outboxRow } from '../../lib/messaging/outbox-relay.js'
import type { CuentaPagosTable, UsuariosTable } from './schema.js'
import type { Selectable } from 'kysely'

/* Rows (integer cents) to API bodies (JSON numbers). */

/** A `usuarios` row as the API shows it: `saldo` in money. */
export function toUsuario (row: Selectable<UsuariosTable>): Usuario {
  return { id: row.id, nombre: row.nombre, saldo: fromCentimos(row.saldo_centimos), creadoEn: row.creado_en }
}

/** A row of the account's payments as the API shows it: `monto` in money. */
export function toPagoUsuario (row: Selectable<CuentaPagosTable>): PagoUsuario {
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

import type { ColumnType, Generated, Kysely } from 'kysely'
import type { EstadoPago } from '../../contracts/http/common.js'
import type { EstadoReembolso } from '../../contracts/http/reembolsos.js'
import type { OutboxTable } from '../../lib/messaging/outbox-relay.js'

/* usuarios' own database; pagos never reads it. Money columns are integer cents. */

export interface UsuariosTable {
  id: Generated<number>
  nombre: string
  saldo_centimos: number
  saldo_inicial_centimos: number
  creado_en: string
}

export interface RecargasTable {
  id: Generated<number>
  usuario_id: number
  monto_centimos: number
  creado_en: string
}

/** The account's payments: what usuarios accepted and how each ended. */
export interface CuentaPagosTable {
  id: string
  usuario_id: number
  monto_centimos: number
  concepto: string | null
  estado: EstadoPago
  motivo: string | null
  correlation_id: string | null
  creado_en: string
  actualizado_en: string
  /** When the sweep last re-sent pago.solicitado (ISO 8601); null until then, and on insert. */
  reenviado_en: ColumnType<string | null, string | null | undefined, string | null>
}

/**
 * A refund of a completed payment: `monto_centimos` integer cents, `motivo`
 * the client's reason, `motivo_fallo` the provider's when `fallido`. The
 * amounts of a payment's `pendiente` and `completado` refunds never add up
 * to more than the payment (checked under the payment's row lock).
 */
export interface ReembolsosTable {
  id: string
  pago_id: string
  usuario_id: number
  monto_centimos: number
  motivo: string | null
  estado: EstadoReembolso
  motivo_fallo: string | null
  correlation_id: string | null
  creado_en: string
  actualizado_en: string
  /** When the sweep last re-sent reembolso.solicitado (ISO 8601); null until then. */
  reenviado_en: ColumnType<string | null, string | null | undefined, string | null>
}

/** What changed a saldo (README, the account statement). */
export type TipoMovimiento = 'alta' | 'recarga' | 'pago' | 'devolucion' | 'reembolso'

/**
 * One change of a saldo: `monto_centimos` signed (a pago is negative),
 * `saldo_centimos` the saldo right after it, `referencia` the payment,
 * top-up or refund id (null for `alta`). Rows of one usuario are written
 * under its row lock, so `id` orders them and each `saldo_centimos` is the
 * running sum.
 */
export interface MovimientosTable {
  id: Generated<number>
  usuario_id: number
  tipo: TipoMovimiento
  monto_centimos: number
  saldo_centimos: number
  referencia: string | null
  creado_en: string
}

/**
 * An answer kept so that a retried request gets it again instead of acting
 * twice: `clave` is the client's Idempotency-Key, `huella` the request's
 * fingerprint, `status` and `respuesta` the HTTP answer (JSON) first sent.
 */
export interface IdempotencyTable {
  usuario_id: number
  operacion: 'pagar' | 'recargar' | 'reembolsar'
  clave: string
  huella: string
  status: number
  respuesta: string
  creado_en: string
}

export interface UsuariosDatabase {
  usuarios: UsuariosTable
  recargas: RecargasTable
  pagos: CuentaPagosTable
  movimientos: MovimientosTable
  reembolsos: ReembolsosTable
  idempotencia: IdempotencyTable
  outbox: OutboxTable
}

export type UsuariosDb = Kysely<UsuariosDatabase>

import type { Kysely } from 'kysely'
import type { OutboxTable } from '../../lib/messaging/outbox-relay.js'

/* pagos' own database: the result of every payment it processed. */

/** A processed payment: the provider's result, recorded once per payment id. */
export interface PagosProcesadosTable {
  id: string
  usuario_id: number
  monto_centimos: number
  concepto: string | null
  estado: 'completado' | 'fallido'
  motivo: string
  correlation_id: string | null
  recibido_en: string
  procesado_en: string
}

/** A processed refund of a payment in `pagos`: the provider's result (`motivo`), recorded once per refund id. */
export interface ReembolsosProcesadosTable {
  id: string
  pago_id: string
  usuario_id: number
  monto_centimos: number
  estado: 'completado' | 'fallido'
  motivo: string
  correlation_id: string | null
  recibido_en: string
  procesado_en: string
}

export interface PagosDatabase {
  pagos: PagosProcesadosTable
  reembolsos: ReembolsosProcesadosTable
  outbox: OutboxTable
}

export type PagosDb = Kysely<PagosDatabase>

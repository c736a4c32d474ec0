import type { Logger } from 'pino'
import type { Delivery, HandlerResult } from '../../lib/messaging/delivery.js'
import type { CuentaPagosStore } from '../store/cuenta-pagos-store.js'

/** Finalises or refunds a payment; knows nothing of AMQP. */
export function pagoProcesadoHandler (pagos: CuentaPagosStore, logger: Logger) {
  return async ({ message, correlationId }: Delivery<'pago.procesado'>): Promise<HandlerResult> => {
    const result = await pagos.applyPagoProcesado(message)
    if (result.kind === 'refused') return { deadLetter: result.reason }
    // Fields inline rather than a child logger per message: the same JSON line, without a logger object per message.
    if (result.kind === 'duplicate') logger.info({ correlationId, pagoId: message.pagoId }, 'pago.procesado duplicado ignorado')
    else logger.info({ correlationId, pagoId: message.pagoId, estado: message.estado, motivo: message.motivo }, message.estado === 'fallido' ? 'pago fallido, saldo devuelto' : 'pago completado')
    return { ack: true }
  }
}

import type { Logger } from 'pino'
import type { Delivery, HandlerResult } from '../../lib/messaging/delivery.js'
import type { PagosStore } from '../store/pagos-store.js'

/** Finalises or refunds a payment; knows nothing of AMQP. */
export function pagoProcesadoHandler (pagos: PagosStore, logger: Logger) {
  return async ({ message, correlationId }: Delivery<'pago.procesado'>): Promise<HandlerResult> => {
    const result = await pagos.aplicarResultado(message)
    const log = logger.child({ reqId: correlationId, pagoId: message.pagoId })
    if (result.kind === 'rechazado') return { deadLetter: result.motivo }
    if (result.kind === 'duplicado') log.info('pago.procesado duplicado ignorado')
    else log.info({ estado: message.estado, motivo: message.motivo }, message.estado === 'fallido' ? 'pago fallido, saldo devuelto' : 'pago completado')
    return { ack: true }
  }
}

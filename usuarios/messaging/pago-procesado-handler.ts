import type { Logger } from 'pino'
import type { Delivery, HandlerResult } from '../../lib/messaging/delivery.js'
import type { CuentaPagosStore } from '../store/cuenta-pagos-store.js'

/** Finalises or refunds a payment; knows nothing of AMQP. */
export function pagoProcesadoHandler (pagos: CuentaPagosStore, logger: Logger) {
  return async ({ message, correlationId }: Delivery<'pago.procesado'>): Promise<HandlerResult> => {
    const result = await pagos.applyPagoProcesado(message)
    const log = logger.child({ correlationId, pagoId: message.pagoId })
    if (result.kind === 'refused') return { deadLetter: result.reason }
    if (result.kind === 'duplicate') log.info('pago.procesado duplicado ignorado')
    else log.info({ estado: message.estado, motivo: message.motivo }, message.estado === 'fallido' ? 'pago fallido, saldo devuelto' : 'pago completado')
    return { ack: true }
  }
}

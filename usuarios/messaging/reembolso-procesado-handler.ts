import type { Logger } from 'pino'
import type { Delivery, HandlerResult } from '../../lib/messaging/delivery.js'
import type { ReembolsosStore } from '../store/reembolsos-store.js'

/** Completes (credits) or fails a refund, once per refund id; knows nothing of AMQP. */
export function reembolsoProcesadoHandler (reembolsos: ReembolsosStore, logger: Logger) {
  return async ({ message, correlationId }: Delivery<'reembolso.procesado'>): Promise<HandlerResult> => {
    const result = await reembolsos.applyReembolsoProcesado(message)
    const log = logger.child({ correlationId, reembolsoId: message.reembolsoId, pagoId: message.pagoId })
    if (result.kind === 'refused') return { deadLetter: result.reason }
    if (result.kind === 'duplicate') log.info('reembolso.procesado duplicado ignorado')
    else log.info({ estado: message.estado, motivo: message.motivo }, message.estado === 'completado' ? 'reembolso completado, saldo abonado' : 'reembolso fallido')
    return { ack: true }
  }
}

import type { Logger } from 'pino'
import type { Delivery, HandlerResult } from '../../lib/messaging/delivery.js'
import type { ReembolsosStore } from '../store/reembolsos-store.js'

/** Completes (credits) or fails a refund, once per refund id; knows nothing of AMQP. */
export function reembolsoProcesadoHandler (reembolsos: ReembolsosStore, logger: Logger) {
  return async ({ message, correlationId }: Delivery<'reembolso.procesado'>): Promise<HandlerResult> => {
    const result = await reembolsos.applyReembolsoProcesado(message)
    if (result.kind === 'refused') return { deadLetter: result.reason }
    // Fields inline rather than a child logger per message: the same JSON line, without a logger object per message.
    const { reembolsoId, pagoId } = message
    if (result.kind === 'duplicate') logger.info({ correlationId, reembolsoId, pagoId }, 'reembolso.procesado duplicado ignorado')
    else logger.info({ correlationId, reembolsoId, pagoId, estado: message.estado, motivo: message.motivo }, message.estado === 'completado' ? 'reembolso completado, saldo abonado' : 'reembolso fallido')
    return { ack: true }
  }
}

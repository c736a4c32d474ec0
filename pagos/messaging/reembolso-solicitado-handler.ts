import type { Logger } from 'pino'
import type { Delivery, HandlerResult } from '../../lib/messaging/delivery.js'
import { oneAtATime } from '../../lib/messaging/one-at-a-time.js'
import type { Reembolsador } from '../processor.js'
import type { ReembolsosStore } from '../store/reembolsos-store.js'

/**
 * Asks the provider for a refund once; knows nothing of AMQP. As for
 * payments (pago-solicitado-handler.ts): a refund already recorded is
 * answered with its recorded result, and copies of one refund id are handled
 * one at a time in this process. A refund whose payment pagos never
 * processed (or did not complete) is refused: dead-lettered with its reason.
 */
export function reembolsoSolicitadoHandler (reembolsos: ReembolsosStore, proveedor: Reembolsador, logger: Logger) {
  async function handle ({ message, correlationId }: Delivery<'reembolso.solicitado'>): Promise<HandlerResult> {
    // Fields inline rather than a child logger per message: the same JSON line, without a logger object per message.
    const { reembolsoId, pagoId } = message
    if (await reembolsos.republish(reembolsoId, correlationId ?? null)) {
      logger.info({ correlationId, reembolsoId, pagoId }, 'reembolso.solicitado duplicado respondido con el resultado registrado')
      return { ack: true }
    }
    const refused = await reembolsos.check(message)
    if (refused !== undefined) return { deadLetter: refused.reason }
    const recibidoEn = new Date().toISOString()
    const result = await proveedor.reembolsar(message)
    const isNew = await reembolsos.record(message, result, correlationId ?? null, recibidoEn)
    if (isNew) logger.info({ correlationId, reembolsoId, pagoId, estado: result.estado, motivo: result.motivo, usuarioId: message.usuarioId }, 'reembolso procesado')
    else logger.info({ correlationId, reembolsoId, pagoId }, 'reembolso.solicitado duplicado ignorado')
    return { ack: true }
  }

  return oneAtATime((delivery: Delivery<'reembolso.solicitado'>) => delivery.message.reembolsoId, handle)
}

import type { Logger } from 'pino'
import type { Delivery, HandlerResult } from '../../lib/messaging/delivery.js'
import { oneAtATime } from '../../lib/messaging/one-at-a-time.js'
import type { Procesador } from '../processor.js'
import type { ProcesadosStore } from '../store/procesados-store.js'

/**
 * Processes a requested payment once; knows nothing of AMQP. A request for a
 * payment already recorded (a duplicate, or usuarios asking again because
 * the answer never arrived) is answered with the recorded result, without
 * calling the provider. This process handles one copy of a payment at a
 * time: a copy that arrives while another is being handled (the provider
 * may be slow) waits for it, then finds its result recorded and answers with
 * it. So the provider is never called twice for one payment id here; only
 * a failure between the call and the record repeats the call, which the
 * Procesador contract allows.
 */
export function pagoSolicitadoHandler (pagos: ProcesadosStore, procesador: Procesador, logger: Logger) {
  async function handle ({ message, correlationId }: Delivery<'pago.solicitado'>): Promise<HandlerResult> {
    // Fields inline rather than a child logger per message: the same JSON line, without a logger object per message.
    const { pagoId } = message
    if (await pagos.republish(pagoId, correlationId ?? null)) {
      logger.info({ correlationId, pagoId }, 'pago.solicitado duplicado respondido con el resultado registrado')
      return { ack: true }
    }
    const recibidoEn = new Date().toISOString()
    const result = await procesador.procesar(message)
    const isNew = await pagos.record(message, result, correlationId ?? null, recibidoEn)
    if (isNew) logger.info({ correlationId, pagoId, estado: result.estado, motivo: result.motivo, usuarioId: message.usuarioId }, 'pago procesado')
    else logger.info({ correlationId, pagoId }, 'pago.solicitado duplicado ignorado')
    return { ack: true }
  }

  return oneAtATime((delivery: Delivery<'pago.solicitado'>) => delivery.message.pagoId, handle)
}

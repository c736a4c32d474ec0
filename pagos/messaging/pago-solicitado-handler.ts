import type { Logger } from 'pino'
import type { Delivery, HandlerResult } from '../../lib/amqp.js'
import type { Procesador } from '../processor.js'
import type { PagosStore } from '../store/pagos-store.js'

/** Processes a requested payment once; knows nothing of AMQP. */
export function pagoSolicitadoHandler (pagos: PagosStore, procesador: Procesador, logger: Logger) {
  return async ({ message, correlationId }: Delivery<'pago.solicitado'>): Promise<HandlerResult> => {
    const log = logger.child({ reqId: correlationId, pagoId: message.pagoId })
    if (await pagos.yaProcesado(message.pagoId)) {
      log.info('pago.solicitado duplicado ignorado')
      return { ack: true }
    }
    const recibidoEn = new Date().toISOString()
    const resultado = await procesador.procesar(message)
    const nuevo = await pagos.registrar(message, resultado, correlationId ?? null, recibidoEn)
    if (nuevo) log.info({ estado: resultado.estado, motivo: resultado.motivo, usuarioId: message.usuarioId }, 'pago procesado')
    else log.info('pago.solicitado duplicado ignorado')
    return { ack: true }
  }
}

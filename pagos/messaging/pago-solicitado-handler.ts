import type { Logger } from 'pino'
import type { Delivery, HandlerResult } from '../../lib/amqp.js'
import type { Procesador } from '../processor.js'
import type { PagosStore } from '../store/pagos-store.js'

/**
 * Processes a requested payment once; knows nothing of AMQP. A request for a
 * payment already recorded (a duplicate, or usuarios asking again because
 * the answer never arrived) is answered with the recorded result, without
 * calling the provider. A copy that arrives while this process is still
 * calling the provider for that payment is acked: the first one's result
 * answers both. So this process never calls the provider twice for one
 * payment id (only a crash between the call and the record repeats the call,
 * which the Procesador contract allows).
 */
export function pagoSolicitadoHandler (pagos: PagosStore, procesador: Procesador, logger: Logger) {
  const enCurso = new Set<string>()
  return async ({ message, correlationId }: Delivery<'pago.solicitado'>): Promise<HandlerResult> => {
    const log = logger.child({ reqId: correlationId, pagoId: message.pagoId })
    if (enCurso.has(message.pagoId)) {
      log.info('pago.solicitado duplicado ignorado (ya en proceso)')
      return { ack: true }
    }
    enCurso.add(message.pagoId)
    try {
      if (await pagos.republicar(message.pagoId, correlationId ?? null)) {
        log.info('pago.solicitado duplicado respondido con el resultado registrado')
        return { ack: true }
      }
      const recibidoEn = new Date().toISOString()
      const resultado = await procesador.procesar(message)
      const nuevo = await pagos.registrar(message, resultado, correlationId ?? null, recibidoEn)
      if (nuevo) log.info({ estado: resultado.estado, motivo: resultado.motivo, usuarioId: message.usuarioId }, 'pago procesado')
      else log.info('pago.solicitado duplicado ignorado')
      return { ack: true }
    } finally {
      enCurso.delete(message.pagoId)
    }
  }
}

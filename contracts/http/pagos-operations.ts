import { Type } from 'typebox'
import { ErrorSchema, PagoIdSchema } from './common.js'
import { operation, type Operation } from './api.js'
import { EXAMPLE_PAGO_ID, EXAMPLE_T0, EXAMPLE_T1 } from './examples.js'
import { ListaPagosQuerySchema, ListaPagosSchema, PagoProcesadoSchema, ProcesarResponseSchema, StatusSchema } from './pagos.js'

/*
 * Every HTTP operation of pagos, each declared once (see api.ts): the route
 * registers from it, its OpenAPI entry is generated from it.
 */

const pagoProcesado = { id: EXAMPLE_PAGO_ID, usuarioId: 1, monto: 25.5, concepto: 'Libro', estado: 'completado', motivo: 'Aprobado por el proveedor', correlationId: 'c0ffee42-0000-4000-8000-000000000001', recibidoEn: EXAMPLE_T0, procesadoEn: EXAMPLE_T1 }

export const PagosApi = {
  estadoPagos: operation({
    method: 'GET',
    url: '/pagos/status',
    operationId: 'estadoPagos',
    summary: 'Estado del procesador de pagos, con cifras reales',
    tag: 'procesador',
    schema: { response: { 200: StatusSchema } },
    examples: {
      response: {
        200: { mensaje: 'Microservicio de pagos activo', status: 'running', broker: { conectado: true }, procesados: 12, fallidos: 1, deadLetter: 0, outboxPendientes: 0, uptimeSegundos: 3600 }
      }
    }
  }),
  procesarPagos: operation({
    method: 'POST',
    url: '/pagos/procesar',
    operationId: 'procesarPagos',
    summary: 'Compatibilidad con el sistema original: el procesamiento es automático',
    tag: 'procesador',
    schema: { response: { 200: ProcesarResponseSchema } },
    examples: { response: { 200: { mensaje: 'Microservicio de pagos está procesando mensajes automáticamente' } } }
  }),
  obtenerPagoProcesado: operation({
    method: 'GET',
    url: '/pagos/:pagoId',
    operationId: 'obtenerPagoProcesado',
    summary: 'El registro de pagos de un pago procesado',
    tag: 'procesador',
    schema: { params: Type.Object({ pagoId: PagoIdSchema }), response: { 200: PagoProcesadoSchema, 400: ErrorSchema, 404: ErrorSchema } },
    examples: { response: { 200: pagoProcesado, 404: { error: 'Pago no encontrado', code: 'PAGO_NO_ENCONTRADO' } } }
  }),
  listarPagosProcesados: operation({
    method: 'GET',
    url: '/pagos',
    operationId: 'listarPagosProcesados',
    summary: 'Pagos procesados, filtrables por usuario y estado',
    tag: 'procesador',
    schema: { querystring: ListaPagosQuerySchema, response: { 200: ListaPagosSchema, 400: ErrorSchema } },
    examples: { response: { 200: { pagos: [pagoProcesado], total: 1, limit: 20, offset: 0 } } }
  })
}

/** pagos' operations in the order its document and the gateway's list them. */
export const PagosOperations: Operation[] = Object.values(PagosApi)

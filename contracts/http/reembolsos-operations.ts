import { Type } from 'typebox'
import { SALDO_MAXIMO } from '../money.js'
import { operation, type Operation } from './api.js'
import { ErrorSchema } from './common.js'
import { EXAMPLE_PAGO_ID, EXAMPLE_T0, EXAMPLE_T1 } from './examples.js'
import {
  ListaReembolsosSchema, PagoNoReembolsableSchema, ReembolsarBodySchema, ReembolsarHeadersSchema, ReembolsarResponseSchema,
  ReembolsoExcedePagoSchema, ReembolsoParamsSchema, ReembolsoSchema
} from './reembolsos.js'
import { PagoParamsSchema, SaldoMaximoSuperadoSchema } from './usuarios.js'

/*
 * The refunds of a completed payment, on usuarios (see api.ts): each
 * operation declared once; usuarios-operations.ts appends them to its list.
 */

const EXAMPLE_REEMBOLSO_ID = '9b2d4c6e-1a3f-4b5d-8e7f-0a1b2c3d4e5f'
const pendiente = { id: EXAMPLE_REEMBOLSO_ID, pagoId: EXAMPLE_PAGO_ID, estado: 'pendiente', monto: 10, motivo: 'Producto devuelto', motivoFallo: null, creadoEn: EXAMPLE_T0, actualizadoEn: EXAMPLE_T0 }
const completado = { ...pendiente, estado: 'completado', actualizadoEn: EXAMPLE_T1 }
const pagoNoEncontrado = { error: 'Pago no encontrado', code: 'PAGO_NO_ENCONTRADO' }
const keyReused = { error: 'Idempotency-Key ya usada con una petición distinta', code: 'IDEMPOTENCY_KEY_REUTILIZADA' }
const url = '/usuarios/:usuarioId/pagos/:pagoId/reembolsos'

export const ReembolsosApi = {
  reembolsarPago: operation({
    method: 'POST',
    url,
    operationId: 'reembolsarPago',
    summary: 'Solicita el reembolso (total o parcial) de un pago completado',
    description: 'Solo un pago `completado`; sus reembolsos pendientes y completados nunca suman más que su importe. Sin `monto` reembolsa lo que queda. ' +
      'En una transacción registra el reembolso `pendiente` y encola `reembolso.solicitado`; pasa después a `completado` (el importe vuelve al saldo, una vez) ' +
      'o `fallido` (`motivoFallo`, no se abona nada): síguelo en `Location`. 409 `PAGO_NO_REEMBOLSABLE` o `REEMBOLSO_EXCEDE_PAGO` con lo que aún es ' +
      `\`reembolsable\`, o \`SALDO_MAXIMO_SUPERADO\` si el saldo con lo pendiente pasaría de ${SALDO_MAXIMO}. ` +
      'Con `Idempotency-Key`, repetir la petición devuelve la respuesta original y no crea otro reembolso.',
    tag: 'pagos',
    schema: {
      params: PagoParamsSchema,
      headers: ReembolsarHeadersSchema,
      body: ReembolsarBodySchema,
      response: {
        202: ReembolsarResponseSchema,
        400: ErrorSchema,
        404: ErrorSchema,
        409: Type.Union([PagoNoReembolsableSchema, ReembolsoExcedePagoSchema, SaldoMaximoSuperadoSchema]),
        422: ErrorSchema
      }
    },
    examples: {
      body: { monto: 10, motivo: 'Producto devuelto' },
      response: {
        202: { mensaje: 'Solicitud de reembolso enviada', reembolso: pendiente },
        404: pagoNoEncontrado,
        409: { error: 'El reembolso supera lo que queda por reembolsar del pago', code: 'REEMBOLSO_EXCEDE_PAGO', monto: 30, reembolsable: 15.5 },
        422: keyReused
      }
    },
    links: {
      202: {
        obtenerReembolso: {
          operationId: 'obtenerReembolso',
          parameters: { usuarioId: '$request.path.usuarioId', pagoId: '$request.path.pagoId', reembolsoId: '$response.body#/reembolso/id' },
          description: 'El reembolso (el mismo que `Location`): síguelo hasta `completado` o `fallido`'
        }
      }
    }
  }),
  listarReembolsos: operation({
    method: 'GET',
    url,
    operationId: 'listarReembolsos',
    summary: 'Los reembolsos de un pago, los más antiguos primero',
    tag: 'pagos',
    schema: { params: PagoParamsSchema, response: { 200: ListaReembolsosSchema, 400: ErrorSchema, 404: ErrorSchema } },
    examples: { response: { 200: { reembolsos: [completado] }, 404: pagoNoEncontrado } }
  }),
  obtenerReembolso: operation({
    method: 'GET',
    url: `${url}/:reembolsoId`,
    operationId: 'obtenerReembolso',
    summary: 'Un reembolso: pendiente, completado o fallido',
    tag: 'pagos',
    schema: { params: ReembolsoParamsSchema, response: { 200: ReembolsoSchema, 400: ErrorSchema, 404: ErrorSchema } },
    examples: { response: { 200: completado, 404: { error: 'Reembolso no encontrado', code: 'REEMBOLSO_NO_ENCONTRADO' } } }
  })
}

/** The refund operations, in the order the documents list them. */
export const ReembolsosOperations: Operation[] = Object.values(ReembolsosApi)

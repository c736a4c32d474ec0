import { MONTO_MAXIMO, SALDO_MAXIMO, mensajeImporte } from '../money.js'
import { ErrorSchema, IdempotencyHeadersSchema, PaginationQuerySchema } from './common.js'
import { operation, type Operation } from './api.js'
import { EXAMPLE_PAGO_ID, EXAMPLE_T0, EXAMPLE_T1 } from './examples.js'
import { MovimientosOperations } from './movimientos-operations.js'
import { ReembolsosOperations } from './reembolsos-operations.js'
import {
  CrearUsuarioBodySchema, ListaPagosUsuarioQuerySchema, ListaPagosUsuarioSchema, ListaUsuariosSchema, PagarBodySchema,
  PagarHeadersSchema, PagarResponseSchema, PagoParamsSchema, PagoUsuarioSchema, RecargarBodySchema, RecargarResponseSchema,
  SaldoInsuficienteSchema, SaldoMaximoSuperadoSchema, UsuarioParamsSchema, UsuarioSchema
} from './usuarios.js'

/*
 * Every HTTP operation of usuarios, each declared once (see api.ts): the
 * route registers from it, its OpenAPI entry is generated from it.
 */

const willis = { id: 1, nombre: 'Willis', saldo: 500, creadoEn: EXAMPLE_T0 }
const pagoPendiente = { id: EXAMPLE_PAGO_ID, usuarioId: 1, estado: 'pendiente', monto: 25.5, concepto: 'Libro', motivo: null, creadoEn: EXAMPLE_T0, actualizadoEn: EXAMPLE_T0 }
const pagoCompletado = { ...pagoPendiente, estado: 'completado', motivo: 'Aprobado por el proveedor', actualizadoEn: EXAMPLE_T1, reembolsado: 10 }
const noEncontrado = { error: 'Usuario no encontrado', code: 'USUARIO_NO_ENCONTRADO' }
const invalido = { error: 'Datos inválidos', code: 'VALIDACION', campo: 'saldo', detalle: mensajeImporte('saldo', { cero: true, maximo: SALDO_MAXIMO }) }
const keyReused = { error: 'Idempotency-Key ya usada con una petición distinta', code: 'IDEMPOTENCY_KEY_REUTILIZADA' }

const errors = { 400: ErrorSchema, 404: ErrorSchema }

export const UsuariosApi = {
  listarUsuarios: operation({
    method: 'GET',
    url: '/usuarios',
    operationId: 'listarUsuarios',
    summary: 'Lista los usuarios con su saldo, paginada',
    tag: 'usuarios',
    schema: { querystring: PaginationQuerySchema, response: { 200: ListaUsuariosSchema, 400: ErrorSchema } },
    examples: { response: { 200: { usuarios: [willis, { id: 2, nombre: 'Ana', saldo: 700, creadoEn: EXAMPLE_T0 }], total: 2, limit: 20, offset: 0 } } }
  }),
  crearUsuario: operation({
    method: 'POST',
    url: '/usuarios',
    operationId: 'crearUsuario',
    summary: 'Crea un usuario (saldo inicial opcional, 0 por defecto)',
    description: `Responde 201 con el usuario y \`Location: /usuarios/{usuarioId}\`. Saldo inicial de 0 a ${SALDO_MAXIMO}, con como máximo 2 decimales; ` +
      'el nombre se guarda sin espacios al principio ni al final.',
    tag: 'usuarios',
    schema: { body: CrearUsuarioBodySchema, response: { 201: UsuarioSchema, 400: ErrorSchema } },
    examples: { body: { nombre: 'Eva', saldo: 50 }, response: { 201: { id: 3, nombre: 'Eva', saldo: 50, creadoEn: EXAMPLE_T0 }, 400: invalido } }
  }),
  obtenerUsuario: operation({
    method: 'GET',
    url: '/usuarios/:usuarioId',
    operationId: 'obtenerUsuario',
    summary: 'Un usuario y su saldo',
    tag: 'usuarios',
    schema: { params: UsuarioParamsSchema, response: { 200: UsuarioSchema, ...errors } },
    examples: { response: { 200: willis, 404: noEncontrado } }
  }),
  recargarSaldo: operation({
    method: 'POST',
    url: '/usuarios/:usuarioId/recargar',
    operationId: 'recargarSaldo',
    summary: 'Suma un importe al saldo',
    description: `Importe de 0.01 a ${MONTO_MAXIMO} con como máximo 2 decimales. El saldo más los pagos pendientes no puede pasar de ${SALDO_MAXIMO}: ` +
      'si lo haría, 409 `SALDO_MAXIMO_SUPERADO` y no cambia nada. ' +
      'Con `Idempotency-Key`, repetir la petición devuelve la respuesta original sin recargar dos veces.',
    tag: 'usuarios',
    schema: {
      params: UsuarioParamsSchema,
      headers: IdempotencyHeadersSchema,
      body: RecargarBodySchema,
      response: { 200: RecargarResponseSchema, ...errors, 409: SaldoMaximoSuperadoSchema, 422: ErrorSchema }
    },
    examples: {
      body: { monto: 20 },
      response: {
        200: { mensaje: 'Recarga realizada', usuario: { ...willis, saldo: 520 }, recarga: { id: 1, monto: 20, creadoEn: EXAMPLE_T0 } },
        400: { error: 'Datos inválidos', code: 'VALIDACION', campo: 'monto', detalle: mensajeImporte('monto') },
        404: noEncontrado,
        409: { error: 'El saldo superaría el máximo permitido', code: 'SALDO_MAXIMO_SUPERADO', saldo: SALDO_MAXIMO - 10, pendiente: 0, monto: 20, saldoMaximo: SALDO_MAXIMO },
        422: keyReused
      }
    }
  }),
  pagar: operation({
    method: 'POST',
    url: '/usuarios/:usuarioId/pagar',
    operationId: 'pagar',
    summary: 'Solicita un pago: debita el saldo y lo deja pendiente',
    description: 'En una transacción comprueba `saldo >= monto`, debita, registra el pago `pendiente` y encola `pago.solicitado`. ' +
      'Sin cuerpo paga el importe por defecto (`PAGO_MONTO_DEFECTO`). El pago pasa después a `completado` o `fallido` (con devolución): ' +
      'síguelo en `Location`. Con `Idempotency-Key`, repetir la petición devuelve la respuesta original y no crea otro pago.',
    tag: 'pagos',
    schema: {
      params: UsuarioParamsSchema,
      headers: PagarHeadersSchema,
      body: PagarBodySchema,
      response: { 202: PagarResponseSchema, ...errors, 409: SaldoInsuficienteSchema, 422: ErrorSchema }
    },
    examples: {
      body: { monto: 25.5, concepto: 'Libro' },
      response: {
        202: { mensaje: 'Solicitud de pago enviada', usuario: { ...willis, saldo: 474.5 }, pago: pagoPendiente },
        404: noEncontrado,
        409: { error: 'Saldo insuficiente', code: 'SALDO_INSUFICIENTE', saldo: 10, monto: 25.5 },
        422: keyReused
      }
    },
    links: {
      202: {
        obtenerPago: {
          operationId: 'obtenerPagoDeUsuario',
          parameters: { usuarioId: '$request.path.usuarioId', pagoId: '$response.body#/pago/id' },
          description: 'El pago aceptado, tal como lo ve usuarios (el mismo que `Location`): síguelo hasta `completado` o `fallido`'
        },
        obtenerPagoProcesado: {
          operationId: 'obtenerPagoProcesado',
          parameters: { pagoId: '$response.body#/pago/id' },
          description: 'El registro del pago en pagos, cuando ya se procesó (404 hasta entonces)'
        },
        obtenerUsuario: {
          operationId: 'obtenerUsuario',
          parameters: { usuarioId: '$request.path.usuarioId' },
          description: 'El usuario, con el saldo ya debitado'
        }
      }
    }
  }),
  listarPagosDeUsuario: operation({
    method: 'GET',
    url: '/usuarios/:usuarioId/pagos',
    operationId: 'listarPagosDeUsuario',
    summary: 'Los pagos de un usuario, los más recientes primero',
    tag: 'pagos',
    schema: { params: UsuarioParamsSchema, querystring: ListaPagosUsuarioQuerySchema, response: { 200: ListaPagosUsuarioSchema, ...errors } },
    examples: { response: { 200: { pagos: [pagoCompletado], total: 1, limit: 20, offset: 0 }, 404: noEncontrado } }
  }),
  obtenerPagoDeUsuario: operation({
    method: 'GET',
    url: '/usuarios/:usuarioId/pagos/:pagoId',
    operationId: 'obtenerPagoDeUsuario',
    summary: 'Un pago de un usuario: pendiente, completado o fallido',
    tag: 'pagos',
    schema: { params: PagoParamsSchema, response: { 200: PagoUsuarioSchema, ...errors } },
    examples: { response: { 200: pagoCompletado, 404: { error: 'Pago no encontrado', code: 'PAGO_NO_ENCONTRADO' } } }
  })
}

/** usuarios' operations in the order its document and the gateway's list them. */
export const UsuariosOperations: Operation[] = [...Object.values(UsuariosApi), ...MovimientosOperations, ...ReembolsosOperations]

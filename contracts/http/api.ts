import type { TSchema } from 'typebox'
import { MONTO_MAXIMO, SALDO_MAXIMO, mensajeImporte } from '../money.js'
import { PagosRoutes } from './pagos.js'
import { UsuariosRoutes } from './usuarios.js'

/*
 * Every HTTP operation of usuarios and pagos as it is documented: the route
 * schema the service validates with (from UsuariosRoutes / PagosRoutes), plus
 * words and one example per body and response. The services' OpenAPI
 * documents take their summaries from here, and the gateway builds its
 * merged document from this list; test/unit/openapi.test.ts checks that it names
 * every route the services register and that every example fits its schema.
 */

export interface RouteSchema {
  params?: TSchema
  querystring?: TSchema
  headers?: TSchema
  body?: TSchema
  response: Record<number, TSchema>
}

export interface Operation {
  method: 'GET' | 'POST'
  /** Fastify syntax: `/usuarios/:usuarioId`. */
  url: string
  operationId: string
  summary: string
  description?: string
  tag: string
  schema: RouteSchema
  examples?: { body?: unknown, response?: Record<number, unknown> }
  /** OpenAPI links per status: where a client (or a stateful fuzzer) goes next with what this answer gave. */
  links?: Record<number, Record<string, OperationLink>>
}

/** An OpenAPI 3.1 Link Object: an operation of this API and runtime expressions for its parameters. */
export interface OperationLink {
  operationId: string
  parameters: Record<string, string>
  description: string
}

const PAGO_ID = '3f1c2a9e-8b7d-4e6f-9a1b-2c3d4e5f6a7b'
const T0 = '2026-01-15T10:00:00.000Z'
const T1 = '2026-01-15T10:00:00.120Z'
const willis = { id: 1, nombre: 'Willis', saldo: 500, creadoEn: T0 }
const pagoPendiente = { id: PAGO_ID, usuarioId: 1, estado: 'pendiente', monto: 25.5, concepto: 'Libro', motivo: null, creadoEn: T0, actualizadoEn: T0 }
const pagoCompletado = { ...pagoPendiente, estado: 'completado', motivo: 'Aprobado por el proveedor', actualizadoEn: T1 }
const pagoProcesado = { id: PAGO_ID, usuarioId: 1, monto: 25.5, concepto: 'Libro', estado: 'completado', motivo: 'Aprobado por el proveedor', correlationId: 'c0ffee42-0000-4000-8000-000000000001', recibidoEn: T0, procesadoEn: T1 }
const noEncontrado = { error: 'Usuario no encontrado', code: 'USUARIO_NO_ENCONTRADO' }
const invalido = { error: 'Datos inválidos', code: 'VALIDACION', campo: 'saldo', detalle: mensajeImporte('saldo', { cero: true, maximo: SALDO_MAXIMO }) }

export const UsuariosOperations: Operation[] = [
  {
    method: 'GET',
    url: '/usuarios',
    operationId: 'listarUsuarios',
    summary: 'Lista los usuarios con su saldo, paginada',
    tag: 'usuarios',
    schema: UsuariosRoutes.listar,
    examples: { response: { 200: { usuarios: [willis, { id: 2, nombre: 'Ana', saldo: 700, creadoEn: T0 }], total: 2, limit: 20, offset: 0 } } }
  },
  {
    method: 'POST',
    url: '/usuarios',
    operationId: 'crearUsuario',
    summary: 'Crea un usuario (saldo inicial opcional, 0 por defecto)',
    description: `Responde 201 con el usuario y \`Location: /usuarios/{usuarioId}\`. Saldo inicial de 0 a ${SALDO_MAXIMO}, con como máximo 2 decimales; ` +
      'el nombre se guarda sin espacios al principio ni al final.',
    tag: 'usuarios',
    schema: UsuariosRoutes.crear,
    examples: { body: { nombre: 'Eva', saldo: 50 }, response: { 201: { id: 3, nombre: 'Eva', saldo: 50, creadoEn: T0 }, 400: invalido } }
  },
  {
    method: 'GET',
    url: '/usuarios/:usuarioId',
    operationId: 'obtenerUsuario',
    summary: 'Un usuario y su saldo',
    tag: 'usuarios',
    schema: UsuariosRoutes.obtener,
    examples: { response: { 200: willis, 404: noEncontrado } }
  },
  {
    method: 'POST',
    url: '/usuarios/:usuarioId/recargar',
    operationId: 'recargarSaldo',
    summary: 'Suma un importe al saldo',
    description: `Importe de 0.01 a ${MONTO_MAXIMO} con como máximo 2 decimales. El saldo más los pagos pendientes no puede pasar de ${SALDO_MAXIMO}: ` +
      'si lo haría, 409 `SALDO_MAXIMO_SUPERADO` y no cambia nada. ' +
      'Con `Idempotency-Key`, repetir la petición devuelve la respuesta original sin recargar dos veces.',
    tag: 'usuarios',
    schema: UsuariosRoutes.recargar,
    examples: {
      body: { monto: 20 },
      response: {
        200: { mensaje: 'Recarga realizada', usuario: { ...willis, saldo: 520 }, recarga: { id: 1, monto: 20, creadoEn: T0 } },
        400: { error: 'Datos inválidos', code: 'VALIDACION', campo: 'monto', detalle: mensajeImporte('monto') },
        404: noEncontrado,
        409: { error: 'El saldo superaría el máximo permitido', code: 'SALDO_MAXIMO_SUPERADO', saldo: SALDO_MAXIMO - 10, pendiente: 0, monto: 20, saldoMaximo: SALDO_MAXIMO },
        422: { error: 'Idempotency-Key ya usada con una petición distinta', code: 'IDEMPOTENCY_KEY_REUTILIZADA' }
      }
    }
  },
  {
    method: 'POST',
    url: '/usuarios/:usuarioId/pagar',
    operationId: 'pagar',
    summary: 'Solicita un pago: debita el saldo y lo deja pendiente',
    description: 'En una transacción comprueba `saldo >= monto`, debita, registra el pago `pendiente` y encola `pago.solicitado`. ' +
      'Sin cuerpo paga el importe por defecto (`PAGO_MONTO_DEFECTO`). El pago pasa después a `completado` o `fallido` (con devolución): ' +
      'síguelo en `Location`. Con `Idempotency-Key`, repetir la petición devuelve la respuesta original y no crea otro pago.',
    tag: 'pagos',
    schema: UsuariosRoutes.pagar,
    examples: {
      body: { monto: 25.5, concepto: 'Libro' },
      response: {
        202: { mensaje: 'Solicitud de pago enviada', usuario: { ...willis, saldo: 474.5 }, pago: pagoPendiente },
        404: noEncontrado,
        409: { error: 'Saldo insuficiente', code: 'SALDO_INSUFICIENTE', saldo: 10, monto: 25.5 },
        422: { error: 'Idempotency-Key ya usada con una petición distinta', code: 'IDEMPOTENCY_KEY_REUTILIZADA' }
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
  },
  {
    method: 'GET',
    url: '/usuarios/:usuarioId/pagos',
    operationId: 'listarPagosDeUsuario',
    summary: 'Los pagos de un usuario, los más recientes primero',
    tag: 'pagos',
    schema: UsuariosRoutes.listarPagos,
    examples: { response: { 200: { pagos: [pagoCompletado], total: 1, limit: 20, offset: 0 }, 404: noEncontrado } }
  },
  {
    method: 'GET',
    url: '/usuarios/:usuarioId/pagos/:pagoId',
    operationId: 'obtenerPagoDeUsuario',
    summary: 'Un pago de un usuario: pendiente, completado o fallido',
    tag: 'pagos',
    schema: UsuariosRoutes.obtenerPago,
    examples: { response: { 200: pagoCompletado, 404: { error: 'Pago no encontrado', code: 'PAGO_NO_ENCONTRADO' } } }
  }
]

export const PagosOperations: Operation[] = [
  {
    method: 'GET',
    url: '/pagos/status',
    operationId: 'estadoPagos',
    summary: 'Estado del procesador de pagos, con cifras reales',
    tag: 'procesador',
    schema: PagosRoutes.status,
    examples: {
      response: {
        200: { mensaje: 'Microservicio de pagos activo', status: 'running', broker: { conectado: true }, procesados: 12, fallidos: 1, deadLetter: 0, outboxPendientes: 0, uptimeSegundos: 3600 }
      }
    }
  },
  {
    method: 'POST',
    url: '/pagos/procesar',
    operationId: 'procesarPagos',
    summary: 'Compatibilidad con el sistema original: el procesamiento es automático',
    tag: 'procesador',
    schema: PagosRoutes.procesar,
    examples: { response: { 200: { mensaje: 'Microservicio de pagos está procesando mensajes automáticamente' } } }
  },
  {
    method: 'GET',
    url: '/pagos/:pagoId',
    operationId: 'obtenerPagoProcesado',
    summary: 'El registro de pagos de un pago procesado',
    tag: 'procesador',
    schema: PagosRoutes.obtener,
    examples: { response: { 200: pagoProcesado, 404: { error: 'Pago no encontrado', code: 'PAGO_NO_ENCONTRADO' } } }
  },
  {
    method: 'GET',
    url: '/pagos',
    operationId: 'listarPagosProcesados',
    summary: 'Pagos procesados, filtrables por usuario y estado',
    tag: 'procesador',
    schema: PagosRoutes.listar,
    examples: { response: { 200: { pagos: [pagoProcesado], total: 1, limit: 20, offset: 0 } } }
  }
]

/** What each status means, for every operation that declares it. */
export const ResponseDescriptions: Record<number, string> = {
  200: 'OK',
  201: 'Creado',
  202: 'Aceptado: el pago queda pendiente',
  400: 'Datos inválidos (`detalle` dice cuál), o una petición HTTP mal formada',
  401: 'Falta la clave de API o no es válida (solo con `GATEWAY_API_KEYS`)',
  404: 'No encontrado',
  408: 'La petición (cabeceras o cuerpo) no llegó a tiempo: se cierra la conexión',
  409: 'Conflicto con el saldo (insuficiente para pagar, o recarga que pasaría del saldo máximo): no cambia nada',
  413: 'Cuerpo de la petición demasiado grande',
  414: 'URL demasiado larga (más de 8 KiB)',
  415: 'Tipo de contenido no soportado: use application/json (con charset utf-8, o sin charset)',
  417: '`Expect` con un valor distinto de `100-continue`',
  422: 'La Idempotency-Key ya se usó con una petición distinta',
  429: 'Demasiadas peticiones: espera lo que indica `Retry-After`',
  431: 'Cabeceras de la petición demasiado grandes (también una URL de más de 16 KiB)',
  500: 'Error interno',
  502: 'El servicio respondió de forma inválida',
  503: 'Servicio no disponible, no listo, o deteniéndose',
  504: 'El servicio no respondió a tiempo'
}

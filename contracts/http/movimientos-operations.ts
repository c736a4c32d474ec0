import { ErrorSchema } from './common.js'
import { operation, type Operation } from './api.js'
import { EXAMPLE_PAGO_ID, EXAMPLE_T0, EXAMPLE_T1 } from './examples.js'
import { ListaMovimientosSchema, MOVIMIENTOS_POR_DEFECTO, MovimientosQuerySchema } from './movimientos.js'
import { UsuarioParamsSchema } from './usuarios.js'

/*
 * The account statement of usuarios (GET /usuarios/:usuarioId/movimientos),
 * declared once as every operation is (see api.ts); usuarios-operations.ts
 * lists it with the others.
 */

const pago = { id: 7, tipo: 'pago', monto: -25.5, saldo: 474.5, fecha: EXAMPLE_T0, referencia: EXAMPLE_PAGO_ID }
const devolucion = { id: 8, tipo: 'devolucion', monto: 25.5, saldo: 500, fecha: EXAMPLE_T1, referencia: EXAMPLE_PAGO_ID }

const CSV_EXAMPLE = 'id,tipo,monto,saldo,fecha,referencia\r\n' +
  `8,devolucion,25.5,500,${EXAMPLE_T1},${EXAMPLE_PAGO_ID}\r\n` +
  `7,pago,-25.5,474.5,${EXAMPLE_T0},${EXAMPLE_PAGO_ID}\r\n` +
  `1,alta,500,500,${EXAMPLE_T0},\r\n`

export const MovimientosApi = {
  listarMovimientos: operation({
    method: 'GET',
    url: '/usuarios/:usuarioId/movimientos',
    operationId: 'listarMovimientos',
    summary: 'El extracto de la cuenta: cada movimiento que cambió el saldo, los más recientes primero',
    description: '`alta` (el saldo inicial), `recarga`, `pago` (al aceptarlo, negativo), `devolucion` (un pago fallido que vuelve al saldo) ' +
      'y `reembolso`; `monto` con signo y `saldo` el saldo justo después. Los montos de un usuario suman su saldo. ' +
      `Paginado de ${MOVIMIENTOS_POR_DEFECTO} en ${MOVIMIENTOS_POR_DEFECTO} (\`limit\` 1 a 100): pide la página siguiente con \`cursor\` = \`siguiente\`, ` +
      'que es estable aunque lleguen movimientos nuevos; `siguiente` es null en la última. ' +
      'Con `Accept: text/csv` responde todos los movimientos en CSV (una fila de cabecera `id,tipo,monto,saldo,fecha,referencia`, ' +
      'una línea por movimiento, sin paginar) como adjunto `movimientos-{usuarioId}.csv`.',
    tag: 'usuarios',
    schema: { params: UsuarioParamsSchema, querystring: MovimientosQuerySchema, response: { 200: ListaMovimientosSchema, 400: ErrorSchema, 404: ErrorSchema } },
    examples: {
      response: {
        200: { movimientos: [devolucion, pago], siguiente: 'Nw' },
        400: { error: 'Datos inválidos', code: 'VALIDACION', campo: 'cursor', detalle: '`cursor` no es válido: usa el `siguiente` de una página anterior, tal cual' },
        404: { error: 'Usuario no encontrado', code: 'USUARIO_NO_ENCONTRADO' }
      }
    },
    media: {
      200: { 'text/csv': { description: 'Todos los movimientos (con `Accept: text/csv`), los más recientes primero; RFC 4180, UTF-8', example: CSV_EXAMPLE } }
    }
  })
}

/** The statement's operations, listed by usuarios-operations.ts. */
export const MovimientosOperations: Operation[] = Object.values(MovimientosApi)

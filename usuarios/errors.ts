import createError from '@fastify/error'

/* Every error usuarios answers, in one place: code, Spanish message, status. */

export const UsuarioNoEncontrado = createError('USUARIO_NO_ENCONTRADO', 'Usuario no encontrado', 404)
export const PagoNoEncontrado = createError('PAGO_NO_ENCONTRADO', 'Pago no encontrado', 404)
export const IdempotencyKeyReutilizada = createError(
  'IDEMPOTENCY_KEY_REUTILIZADA',
  'Idempotency-Key ya usada con una petición distinta',
  422
)
export const SALDO_INSUFICIENTE = 'SALDO_INSUFICIENTE'
export const SALDO_MAXIMO_SUPERADO = 'SALDO_MAXIMO_SUPERADO' as const

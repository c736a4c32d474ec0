import createError from '@fastify/error'

/* Every error pagos answers, in one place. */
export const PagoNoEncontrado = createError('PAGO_NO_ENCONTRADO', 'Pago no encontrado', 404)

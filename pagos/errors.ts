import createError from '@fastify/error'

/*
 * Every error pagos answers, in one place: the public code (Spanish
 * SCREAMING_SNAKE naming the fault), the Spanish message and the status.
 * The HTTP-level ones every service shares are in lib/http/errors.ts. The
 * store returns `undefined` for a payment it never recorded; the route throws.
 */

/** 404: pagos has recorded no result for that payment id (not processed yet, or unknown). */
export const PagoProcesadoNotFoundError = createError('PAGO_NO_ENCONTRADO', 'Pago no encontrado', 404)

import createError from '@fastify/error'

/*
 * Every error usuarios answers, in one place: the public code (Spanish
 * SCREAMING_SNAKE naming the fault), the Spanish message and the status.
 * Codes and messages are the API: they never change. The HTTP-level ones
 * every service shares (VALIDACION, RUTA_NO_ENCONTRADA…) are in
 * lib/http/errors.ts. Stores never throw these: they return a not-found or
 * refusal outcome and the routes throw (404, 422) or answer (409) with them.
 */

/** 404: no usuario with that id. */
export const UsuarioNotFoundError = createError('USUARIO_NO_ENCONTRADO', 'Usuario no encontrado', 404)

/** 404: the usuario exists but has no payment with that id. */
export const PagoUsuarioNotFoundError = createError('PAGO_NO_ENCONTRADO', 'Pago no encontrado', 404)

/** 422: an Idempotency-Key already used by this usuario for this operation with another request. */
export const IdempotencyKeyReusedError = createError('IDEMPOTENCY_KEY_REUTILIZADA', 'Idempotency-Key ya usada con una petición distinta', 422)

/** 409: the balance does not cover the payment; the body adds `saldo` and `monto` (money). */
export const SaldoInsuficienteError = createError('SALDO_INSUFICIENTE', 'Saldo insuficiente', 409)

/** 409: the top-up would take saldo + pending payments past SALDO_MAXIMO; the body adds the figures (money). */
export const SaldoMaximoSuperadoError = createError('SALDO_MAXIMO_SUPERADO', 'El saldo superaría el máximo permitido', 409)

/** 404: the payment has no refund with that id. */
export const ReembolsoNotFoundError = createError('REEMBOLSO_NO_ENCONTRADO', 'Reembolso no encontrado', 404)

/** 409: only a `completado` payment can be refunded; the body adds `estado` and `reembolsable` (money). */
export const PagoNoReembolsableError = createError('PAGO_NO_REEMBOLSABLE', 'El pago no se puede reembolsar', 409)

/** 409: the refund is more than what is left of the payment (pending and completed refunds count); the body adds `monto` and `reembolsable` (money). */
export const ReembolsoExcedePagoError = createError('REEMBOLSO_EXCEDE_PAGO', 'El reembolso supera lo que queda por reembolsar del pago', 409)

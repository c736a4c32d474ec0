import createError from '@fastify/error'

/*
 * Every error the HTTP stack answers on its own, for every service (the
 * gateway included), before or instead of a route: the public code (Spanish
 * SCREAMING_SNAKE naming the fault), the Spanish message and the status.
 * Codes and messages are the API: they never change. A service's own errors
 * are in its errors.ts (usuarios/errors.ts, pagos/errors.ts); the gateway's,
 * prefixed GATEWAY_ERR_, in gateway/errors.ts. Most of these are written as
 * a JSON body (`errorBody`) rather than thrown: Node's server events and
 * Fastify's hooks answer before any route runs.
 */

/** 400: a request field refused by its schema; the body adds `campo` and `detalle` (lib/http/validation.ts). */
export const ValidationError = createError('VALIDACION', 'Datos inválidos', 400)

/** 400: what Node's HTTP parser refused (the connection is closed). */
export const MalformedRequestError = createError('PETICION_MAL_FORMADA', 'Petición HTTP mal formada', 400)

/** 400: an HTTP/1.1 request without Host (RFC 9112 §3.2). */
export const MissingHostError = createError('PETICION_MAL_FORMADA', 'Petición HTTP mal formada: falta la cabecera Host', 400)

/** 404: no route has this path. */
export const RouteNotFoundError = createError('RUTA_NO_ENCONTRADA', 'Ruta no encontrada', 404)

/** 405: the path exists with other methods (answered with `Allow`). */
export const MethodNotAllowedError = createError('METODO_NO_PERMITIDO', 'Método no permitido', 405)

/** 408: the headers did not arrive in time (the connection is closed). */
export const RequestTimeoutError = createError('TIEMPO_PETICION_AGOTADO', 'La petición no llegó a tiempo', 408)

/** 414: a request target longer than MAX_URL_LENGTH. */
export const UrlTooLongError = createError('URL_DEMASIADO_LARGA', 'URL demasiado larga', 414)

/** 415: a JSON body declared in another charset than UTF-8. */
export const CharsetNotSupportedError = createError('CHARSET_NO_SOPORTADO', 'Juego de caracteres no soportado: el cuerpo JSON debe ir en UTF-8', 415)

/** 417: an `Expect` other than 100-continue. */
export const ExpectNotSupportedError = createError('EXPECT_NO_SOPORTADO', 'Expect no soportado: solo 100-continue', 417)

/** 431: headers (or a URL over 16 KiB) larger than Node accepts (the connection is closed). */
export const HeadersTooLargeError = createError('CABECERAS_DEMASIADO_GRANDES', 'Cabeceras de la petición demasiado grandes', 431)

/** 500: anything unexpected; logged, never shown. */
export const InternalError = createError('ERROR_INTERNO', 'Error interno', 500)

/** 503: a request that arrives once a graceful shutdown has begun (the connection is closed). */
export const ShuttingDownError = createError('SERVICIO_DETENIENDOSE', 'Servicio deteniéndose', 503)

/**
 * Spanish messages for Fastify's own client errors, which keep Fastify's
 * code (`FST_ERR_…`) in the answer; any other is answered with its own
 * message, or `Petición inválida` before routing.
 */
export const FRAMEWORK_MESSAGES: Record<string, string> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'Tipo de contenido no soportado: use application/json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'Cuerpo de la petición demasiado grande',
  FST_ERR_CTP_INVALID_JSON_BODY: 'JSON inválido',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'Content-Length no coincide con el cuerpo',
  FST_ERR_BAD_URL: 'URL inválida'
}

/** The JSON body every error answer has: `{error, code}` (Spanish message, stable code). */
export function errorBody (err: { message: string, code: string }): { error: string, code: string } {
  return { error: err.message, code: err.code }
}

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

/** 400: a request target `*` (asterisk form, RFC 9112 §3.2.4) with a method other than OPTIONS. */
export const AsteriskFormError = createError('PETICION_MAL_FORMADA', 'Petición HTTP mal formada: el destino * solo vale para OPTIONS', 400)

/** 400: a Host header on more than one line, or one that is not a host[:port] (RFC 9112 §3.2). */
export const InvalidHostError = createError('PETICION_MAL_FORMADA', 'Petición HTTP mal formada: la cabecera Host debe ir una sola vez y nombrar un host', 400)

/** 501: a Transfer-Encoding other than chunked (`gzip, chunked`): its body is not read as something it is not (RFC 9112 §6.1); the connection is closed. */
export const TransferCodingNotImplementedError = createError('CODIFICACION_TRANSFERENCIA_NO_SOPORTADA', 'Codificación de transferencia no soportada: solo chunked', 501)

/** 505: a request line that names an HTTP version other than 1.x (`HTTP/2.0` sent as text). */
export const HttpVersionNotSupportedError = createError('VERSION_HTTP_NO_SOPORTADA', 'Versión de HTTP no soportada: use HTTP/1.1', 505)

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

/** 415: a body with a Content-Encoding other than identity (gzip, br, a list...): refused, never decoded; answered with `Accept-Encoding: identity`. */
export const EncodingNotSupportedError = createError('CODIFICACION_NO_SOPORTADA', 'Codificación de contenido no soportada: envíe el cuerpo sin comprimir (Content-Encoding: identity)', 415)

/** 417: an `Expect` other than 100-continue. */
export const ExpectNotSupportedError = createError('EXPECT_NO_SOPORTADO', 'Expect no soportado: solo 100-continue', 417)

/** 431: headers (or a URL over 16 KiB) larger than Node accepts (the connection is closed). */
export const HeadersTooLargeError = createError('CABECERAS_DEMASIADO_GRANDES', 'Cabeceras de la petición demasiado grandes', 431)

/** 500: anything unexpected; logged, never shown. */
export const InternalError = createError('ERROR_INTERNO', 'Error interno', 500)

/** 503: a request that arrives once a graceful shutdown has begun (the connection is closed). */
export const ShuttingDownError = createError('SERVICIO_DETENIENDOSE', 'Servicio deteniéndose', 503)

/** 503: the database cannot be reached right now (restarting, recovering); answered with Retry-After. Nothing was done that a retry with the same Idempotency-Key would do twice. */
export const DatabaseUnavailableError = createError('BASE_DE_DATOS_NO_DISPONIBLE', 'Base de datos no disponible: reintente con la misma Idempotency-Key', 503)

/** 400: a body that is not JSON. */
export const InvalidJsonError = createError('JSON_INVALIDO', 'JSON inválido', 400)

/** 400: a request path Fastify cannot decode (`%E0%A4%A`). */
export const InvalidUrlError = createError('URL_INVALIDA', 'URL inválida', 400)

/** 400: a Content-Length that does not match the body received. */
export const ContentLengthMismatchError = createError('CONTENT_LENGTH_INCORRECTO', 'Content-Length no coincide con el cuerpo', 400)

/** 413: a body over the service's limit (64 KiB); the connection is closed. */
export const BodyTooLargeError = createError('CUERPO_DEMASIADO_GRANDE', 'Cuerpo de la petición demasiado grande', 413)

/** 415: a body whose Content-Type is not JSON (or no Content-Type). */
export const MediaTypeNotSupportedError = createError('TIPO_CONTENIDO_NO_SOPORTADO', 'Tipo de contenido no soportado: use application/json', 415)

/**
 * Fastify's own client errors (`FST_ERR_…`) answered as this catalogue's:
 * a client never sees a framework code for these. Another FST error keeps
 * its code and message (none is known to reach a client).
 */
export const FRAMEWORK_ERRORS: Record<string, new () => { message: string, code: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: InvalidJsonError,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: MediaTypeNotSupportedError,
  FST_ERR_CTP_BODY_TOO_LARGE: BodyTooLargeError,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ContentLengthMismatchError,
  FST_ERR_BAD_URL: InvalidUrlError
}

/** The catalogue's answer for a Fastify error: its body (`{error, code}`), or undefined for one it does not know. */
export function frameworkErrorBody (code: string): { error: string, code: string } | undefined {
  const Known = FRAMEWORK_ERRORS[code]
  return Known === undefined ? undefined : errorBody(new Known())
}

/** The JSON body every error answer has: `{error, code}` (Spanish message, stable code). */
export function errorBody (err: { message: string, code: string }): { error: string, code: string } {
  return { error: err.message, code: err.code }
}

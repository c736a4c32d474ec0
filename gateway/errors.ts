import createError from '@fastify/error'

/*
 * The gateway's error catalogue: everything it answers on its own, and the
 * errors its HTTP client raises for a request it did not send. Every answer
 * is `{error, code}` with the Spanish message below; the codes are public.
 */

/* What the gateway answers in place of an upstream; the argument is the service name. */

/** 503: no instance of the service could be reached (see NOT_CONNECTED). */
export const ServiceUnavailableError = createError<'GATEWAY_ERR_SERVICIO_NO_DISPONIBLE', 503, [string]>(
  'GATEWAY_ERR_SERVICIO_NO_DISPONIBLE', 'Servicio %s no disponible', 503)

/** 504: the service took longer than UPSTREAM_TIMEOUT_MS, or no connection to it became free in that time. */
export const UpstreamTimeoutError = createError<'GATEWAY_ERR_TIEMPO_AGOTADO', 504, [string]>(
  'GATEWAY_ERR_TIEMPO_AGOTADO', 'Servicio %s no respondió a tiempo', 504)

/** 502: the service answered something that is not HTTP, or broke off mid-answer. */
export const BadUpstreamAnswerError = createError<'GATEWAY_ERR_RESPUESTA_INVALIDA', 502, [string]>(
  'GATEWAY_ERR_RESPUESTA_INVALIDA', 'Servicio %s respondió de forma inválida', 502)

/**
 * In GET /health, an instance whose /health/ready did not answer 200 `ok`
 * (arguments: the service name, the HTTP status it answered). Only its
 * message is shown, as the instance's `error`; the code is never sent.
 */
export const ServiceNotReadyError = createError<'GATEWAY_ERR_SERVICIO_NO_LISTO', 503, [string, number]>(
  'GATEWAY_ERR_SERVICIO_NO_LISTO', 'Servicio %s no está listo (HTTP %s)', 503)

/** 400: a path that would leave the service's prefix once decoded (`..%2f`). */
export const InvalidPathError = createError('GATEWAY_ERR_RUTA_INVALIDA', 'Ruta inválida', 400)

/**
 * 412: a static file (the dashboard's, Swagger UI's) asked for with
 * `If-Match` or `If-Unmodified-Since` that the file no longer matches.
 */
export const PreconditionFailedError = createError('GATEWAY_ERR_PRECONDICION_FALLIDA', 'El archivo no cumple la condición de la petición (If-Match o If-Unmodified-Since)', 412)

/* The gateway's own refusals: auth, rate limit, body size. */

/** 401: GATEWAY_API_KEYS is set and the request carries no valid `Authorization: Bearer <key>`. */
export const UnauthorizedError = createError('GATEWAY_ERR_NO_AUTORIZADO', 'No autorizado', 401)

/** 429: over RATE_LIMIT_MAX requests in RATE_LIMIT_WINDOW_MS for this client. */
export const TooManyRequestsError = createError('GATEWAY_ERR_DEMASIADAS_PETICIONES', 'Demasiadas peticiones', 429)

/** 413: a body (declared or read) over GATEWAY_BODY_LIMIT bytes. */
export const BodyTooLargeError = createError('GATEWAY_ERR_CUERPO_DEMASIADO_GRANDE', 'Cuerpo de la petición demasiado grande', 413)

/* The client's side of a request: its body, read whole before any service is asked (gateway/buffered-body.ts). */

/** 408: more than GATEWAY_BODY_TIMEOUT_MS between two reads of the body. */
export const BodyTimeoutError = createError('GATEWAY_ERR_CUERPO_LENTO', 'El cuerpo de la petición no llegó a tiempo', 408)

/** 400: the client closed or reset its connection before the body's end. */
export const BodyIncompleteError = createError('GATEWAY_ERR_CUERPO_INCOMPLETO', 'El cuerpo de la petición llegó incompleto', 400)

/*
 * Raised by the HTTP client (gateway/failover.ts) for a request it did not
 * send; never answered as such: reply-from wraps them, upstreamError turns
 * the queue timeout into a 504, and a gone client gets no answer at all.
 */

/** The request found no free connection to the instance within `ms` milliseconds; it was not sent. */
export const QueueTimeoutError = createError<'GATEWAY_UPSTREAM_QUEUE_TIMEOUT', 504, [number]>(
  'GATEWAY_UPSTREAM_QUEUE_TIMEOUT', 'no connection to the service became free within %s ms; the request was not sent', 504)

/** The request's client had closed its connection before the request was sent; it was not sent. */
export const ClientGoneError = createError('GATEWAY_CLIENT_GONE', 'the client closed its connection before the request was sent to the service; not sent')

/**
 * Nobody listening at the instance, or no route to it: the request never
 * left. The failover dispatcher then tries another instance; when none is
 * left the answer is a 503.
 */
export const NOT_CONNECTED: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'UND_ERR_CONNECT_TIMEOUT'])

/* The service was reached but was slow, or no connection to it became free in time (QueueTimeoutError). */
const TIMED_OUT: ReadonlySet<string> = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'GATEWAY_UPSTREAM_QUEUE_TIMEOUT'])

function codeOf (err: unknown): string | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined
  return typeof code === 'string' ? code : undefined
}

/**
 * The answer for a proxied call that failed, from reply-from's error.
 * reply-from wraps the undici error in its own (a refused connection becomes
 * a 500); the cause tells a dead service (503) from a slow one (504) from a
 * broken answer (502). `service`: the service's name, shown in the message.
 */
export function upstreamError (service: string, error: Error & { statusCode?: number }) {
  const codes = [codeOf(error), codeOf(error.cause)]
  if (codes.some((c) => c !== undefined && NOT_CONNECTED.has(c)) || error.statusCode === 503) return new ServiceUnavailableError(service)
  if (codes.some((c) => c !== undefined && TIMED_OUT.has(c)) || error.statusCode === 504) return new UpstreamTimeoutError(service)
  return new BadUpstreamAnswerError(service)
}

import createError from '@fastify/error'

/* What the gateway answers in place of an upstream; the argument is the service name. */

export const ServicioNoDisponibleError = createError<'GATEWAY_ERR_SERVICIO_NO_DISPONIBLE', 503, [string]>(
  'GATEWAY_ERR_SERVICIO_NO_DISPONIBLE', 'Servicio %s no disponible', 503)

export const TiempoAgotadoError = createError<'GATEWAY_ERR_TIEMPO_AGOTADO', 504, [string]>(
  'GATEWAY_ERR_TIEMPO_AGOTADO', 'Servicio %s no respondió a tiempo', 504)

export const RespuestaInvalidaError = createError<'GATEWAY_ERR_RESPUESTA_INVALIDA', 502, [string]>(
  'GATEWAY_ERR_RESPUESTA_INVALIDA', 'Servicio %s respondió de forma inválida', 502)

/** A path that would leave the service's prefix once decoded (`..%2f`). */
export const RutaInvalidaError = createError('GATEWAY_ERR_RUTA_INVALIDA', 'Ruta inválida', 400)

/* Nobody listening, or no route to the host: the service is down. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'UND_ERR_CONNECT_TIMEOUT'])
/* The last one: no connection to the service became free in time (gateway/failover.ts). */
const TIMEOUT = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'GATEWAY_UPSTREAM_QUEUE_TIMEOUT'])

function codeOf (err: unknown): string | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined
  return typeof code === 'string' ? code : undefined
}

/**
 * reply-from wraps the undici error in its own (a refused connection becomes
 * a 500); the cause tells a dead service (503) from a slow one (504) from a
 * broken answer (502).
 */
export function upstreamError (servicio: string, error: Error & { statusCode?: number }) {
  const codes = [codeOf(error), codeOf(error.cause)]
  if (codes.some((c) => c !== undefined && UNREACHABLE.has(c)) || error.statusCode === 503) return new ServicioNoDisponibleError(servicio)
  if (codes.some((c) => c !== undefined && TIMEOUT.has(c)) || error.statusCode === 504) return new TiempoAgotadoError(servicio)
  return new RespuestaInvalidaError(servicio)
}

/* The gateway's own refusals: auth, rate limit, body size. */

export const NoAutorizadoError = createError('GATEWAY_ERR_NO_AUTORIZADO', 'No autorizado', 401)

export const DemasiadasPeticionesError = createError('GATEWAY_ERR_DEMASIADAS_PETICIONES', 'Demasiadas peticiones', 429)

export const CuerpoDemasiadoGrandeError = createError('GATEWAY_ERR_CUERPO_DEMASIADO_GRANDE', 'Cuerpo de la petición demasiado grande', 413)

/* The client's side of a request: its body, read whole before any service is asked (gateway/buffered-body.ts). */

export const CuerpoLentoError = createError('GATEWAY_ERR_CUERPO_LENTO', 'El cuerpo de la petición no llegó a tiempo', 408)

export const CuerpoIncompletoError = createError('GATEWAY_ERR_CUERPO_INCOMPLETO', 'El cuerpo de la petición llegó incompleto', 400)

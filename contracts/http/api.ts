import type { TSchema } from 'typebox'
import type { ApiTagName } from './tags.js'

/*
 * What an HTTP operation of usuarios or pagos is, declared once: method, url,
 * the route schema the service validates with (params, query, headers, body,
 * one response per status), the words of its documentation and one example
 * per body and response, and its OpenAPI links. The operations themselves
 * are in usuarios-operations.ts and pagos-operations.ts; a service registers
 * each route from its operation (lib/http/operation-route.ts), serves its
 * OpenAPI document from the same objects, and the gateway builds its merged
 * document from the same lists. test/unit/openapi.test.ts checks that the lists
 * name every route the services register and that every example fits its schema.
 */

export interface RouteSchema {
  params?: TSchema
  querystring?: TSchema
  headers?: TSchema
  body?: TSchema
  response: Record<number, TSchema>
}

export interface Operation<S extends RouteSchema = RouteSchema> {
  method: 'GET' | 'POST'
  /** Fastify syntax: `/usuarios/:usuarioId`. */
  url: string
  operationId: string
  summary: string
  description?: string
  /** A section of the API (contracts/http/tags.ts). */
  tag: ApiTagName
  schema: S
  examples?: { body?: unknown, response?: Record<number, unknown> }
  /**
   * Other media types an answer may take besides JSON, by status (chosen by
   * the request's `Accept`, e.g. `text/csv`): what it is, and an example as text.
   */
  media?: Record<number, Record<string, { description: string, example: string }>>
  /** OpenAPI links per status: where a client (or a stateful fuzzer) goes next with what this answer gave. */
  links?: Record<number, Record<string, OperationLink>>
}

/** An OpenAPI 3.1 Link Object: an operation of this API and runtime expressions for its parameters. */
export interface OperationLink {
  operationId: string
  parameters: Record<string, string>
  description: string
}

/** Declares an operation, keeping its schema's exact type (routes get typed params, body and replies from it). */
export function operation<const S extends RouteSchema> (op: Operation<S>): Operation<S> {
  return op
}

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
  415: 'Tipo de contenido no soportado: use application/json (con charset utf-8, o sin charset), sin comprimir (`Content-Encoding` ausente o `identity`; cualquier otra es `CODIFICACION_NO_SOPORTADA`)',
  417: '`Expect` con un valor distinto de `100-continue`',
  422: 'La Idempotency-Key ya se usó con una petición distinta',
  429: 'Demasiadas peticiones: espera lo que indica `Retry-After`',
  431: 'Cabeceras de la petición demasiado grandes (también una URL de más de 16 KiB)',
  500: 'Error interno',
  501: 'Codificación de transferencia no soportada: solo `Transfer-Encoding: chunked` (se cierra la conexión)',
  502: 'El servicio respondió de forma inválida',
  503: 'Servicio no disponible, no listo, o deteniéndose',
  504: 'El servicio no respondió a tiempo',
  505: 'Versión de HTTP no soportada: use HTTP/1.1 (o 1.0)'
}

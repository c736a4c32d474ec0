import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyError, type LogController, type FastifyReply, type FastifyInstance, type FastifyBaseLogger, type RawServerDefault, type RawRequestDefaultExpression, type RawReplyDefaultExpression } from 'fastify'
import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Logger } from 'pino'
import { OneLinePerRequest } from './request-log.js'

export type App = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>

export const BODY_LIMIT = 64 * 1024
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** Spanish messages for the framework's own client errors. */
const MESSAGES: Record<string, string> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'Tipo de contenido no soportado: use application/json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'Cuerpo de la petición demasiado grande',
  FST_ERR_CTP_INVALID_JSON_BODY: 'JSON inválido',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'Content-Length no coincide con el cuerpo',
  FST_ERR_BAD_URL: 'URL inválida'
}

/** A request id from the caller (the gateway) is kept; otherwise one is made. */
export function requestIdFrom (header: string | string[] | undefined): string {
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID()
}

/**
 * The Fastify instance every service starts from: TypeBox types, JSON-only
 * errors `{error, code}` with no stack trace, x-request-id in and out.
 *
 * Validation uses TypeBox's compiled checker instead of Ajv: it never coerces
 * a JSON body (`"monto": true` must not become 1) and checks `multipleOf: 0.01`
 * exactly; path and query values are converted from strings.
 */
export function createHttpApp (logger: Logger, bodyLimit = BODY_LIMIT, logController: LogController = new OneLinePerRequest()): App {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController,
    bodyLimit,
    genReqId: (req) => requestIdFrom(req.headers['x-request-id']),
    routerOptions: { ignoreTrailingSlash: true },
    // Errors raised before routing (a malformed URL) skip the error handler.
    frameworkErrors: (err, req, reply) => {
      reply.header('x-request-id', req.id)
      void (reply as FastifyReply).code(400).send({ error: MESSAGES[err.code] ?? 'Petición inválida', code: err.code })
    },
    return503OnClosing: true
  }).withTypeProvider<TypeBoxTypeProvider>()
  app.setValidatorCompiler(TypeBoxValidatorCompiler)
  // JSON only: a text/plain body is a 415 like any other non-JSON type.
  app.removeContentTypeParser('text/plain')

  // The original accepted `curl -X POST -H 'Content-Type: application/json'`
  // with no body: an empty JSON body is treated as no body.
  const json = app.getDefaultJsonParser('error', 'error')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = body.toString()
    if (text.trim() === '') return done(null, undefined)
    json(req, text, done)
  })

  // Callback hooks, not async ones: no promise per request on every route.
  app.addHook('onRequest', (req, reply, done) => {
    reply.header('x-request-id', req.id)
    done()
  })
  // A POST with no body at all (plain `curl -X POST`) is validated as `{}`,
  // so optional bodies work and required fields are named in the error.
  app.addHook('preValidation', (req, _reply, done) => {
    if (req.body === undefined && req.routeOptions.schema?.body !== undefined) req.body = {}
    done()
  })

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err.validation) {
      return reply.code(400).send({ error: 'Datos inválidos', code: 'VALIDACION', detalle: `${err.validationContext ?? ''}${err.message.replace(/^(body|params|querystring|headers)/, '')}` })
    }
    const status = err.statusCode ?? 500
    if (status >= 400 && status < 500) {
      return reply.code(status).send({ error: MESSAGES[err.code] ?? err.message, code: err.code })
    }
    req.log.error({ err }, 'request failed')
    return reply.code(status >= 500 && status < 600 ? status : 500).send({ error: 'Error interno', code: 'ERROR_INTERNO' })
  })

  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ error: 'Ruta no encontrada', code: 'RUTA_NO_ENCONTRADA' })
  })
  return app
}

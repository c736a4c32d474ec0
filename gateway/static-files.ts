import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { errorBody, InvalidUrlError } from '../lib/http/errors.js'
import { PreconditionFailedError } from './errors.js'

/*
 * What the gateway's static files (the dashboard's and Swagger UI's, both
 * served by @fastify/static through @fastify/send) answer when they are not a
 * file: the catalogue's JSON in Spanish with a code, like every other error.
 * @fastify/static hands send's own errors (http-errors: English message, no
 * `code`) to the scope's error handler, which gave `{"error":"Forbidden"}`.
 * Ranges are off on both, so a Range header is ignored and the whole file
 * is a 200 (RFC 9110 §14.2 lets a server ignore Range): the dashboard's files
 * are about 100 KB in all, and Swagger UI's largest (its 1.5 MB bundle) is
 * only ever loaded whole by a browser. Fixing send's ranges instead would
 * mean parsing Range again: send takes an invalid range (`bytes=5-1`, which
 * §14.2 says to ignore) for an unsatisfiable one (416). Off, no 416 is left.
 */

const INVALID_URL = errorBody(new InvalidUrlError())
const PRECONDITION_FAILED = errorBody(new PreconditionFailedError())

/**
 * The error handler of a scope that serves static files. send's errors (no
 * `code`): 403 is a path that would leave the static root (`..`, also as
 * `%2e%2e`), answered as any unknown path — the app's 404 handler
 * (RUTA_NO_ENCONTRADA), so such a path tells nothing of the folders around;
 * 400 is a NUL byte in the path (URL_INVALIDA); 412 a failed If-Match or
 * If-Unmodified-Since. Anything else goes on to the app's error handler
 * (a 500 is ERROR_INTERNO there, logged).
 */
export function staticFileError (err: FastifyError & { status?: number }, _req: FastifyRequest, reply: FastifyReply): FastifyReply | undefined {
  if (err.code === undefined) {
    switch (err.statusCode) {
      case 403: reply.callNotFound(); return reply
      case 400: return reply.code(400).send(INVALID_URL)
      case 412: return reply.code(412).send(PRECONDITION_FAILED)
    }
  }
  throw err
}

/**
 * For a scope whose static serving has no `acceptRanges` option (Swagger
 * UI's): Range and If-Range are dropped before any route reads them, and the
 * `Accept-Ranges` send still sets is taken off, so it answers as the
 * dashboard with `acceptRanges: false` does.
 */
export function ignoreRanges (scope: FastifyInstance): void {
  scope.addHook('onRequest', (req, _reply, done) => {
    delete req.raw.headers.range
    delete req.raw.headers['if-range']
    done()
  })
  scope.addHook('onSend', (_req, reply, payload, done) => {
    reply.removeHeader('accept-ranges')
    done(null, payload)
  })
}

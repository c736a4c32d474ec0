import fp from 'fastify-plugin'
import { CuerpoDemasiadoGrandeError } from './errors.js'

/**
 * The proxy streams bodies without reading them, so Fastify's bodyLimit never
 * applies there: a declared Content-Length over the limit is refused with a
 * 413 before anything reaches a service. A chunked body (no Content-Length)
 * streams on, and the service's own 64 KiB limit answers 413.
 */
export const gatewayBodyLimit = fp<{ limit: number }>(async (app, { limit }) => {
  // A callback hook, not an async one: it runs on every request, and needs no promise.
  app.addHook('onRequest', (req, _reply, done) => {
    if (Number(req.headers['content-length'] ?? 0) > limit) done(new CuerpoDemasiadoGrandeError())
    else done()
  })
}, { name: 'gateway-body-limit', fastify: '5.x' })

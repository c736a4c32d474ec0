import fp from 'fastify-plugin'
import { CuerpoDemasiadoGrandeError } from './errors.js'

/**
 * A declared Content-Length over the limit is refused with a 413 before a
 * byte of the body is read; a chunked body is stopped by the buffering
 * parser once it passes the limit (gateway/buffered-body.ts).
 */
export const gatewayBodyLimit = fp<{ limit: number }>(async (app, { limit }) => {
  // A callback hook, not an async one: it runs on every request, and needs no promise.
  app.addHook('onRequest', (req, _reply, done) => {
    if (Number(req.headers['content-length'] ?? 0) > limit) done(new CuerpoDemasiadoGrandeError())
    else done()
  })
}, { name: 'gateway-body-limit', fastify: '5.x' })

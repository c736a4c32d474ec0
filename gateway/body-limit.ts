import fp from 'fastify-plugin'
import { requestIdFrom, writeJsonError } from '../lib/http/http-app.js'
import { BodyTooLargeError } from './errors.js'

/**
 * A declared Content-Length over the limit is refused with a 413 before a
 * byte of the body is read; a chunked body is stopped by the buffering
 * parser once it passes the limit (gateway/buffered-body.ts).
 *
 * With `Expect: 100-continue` the refusal comes instead of the 100 Continue
 * (Node would send it before any hook runs), so the client never sends the
 * body it would be refused for.
 */
export const gatewayBodyLimit = fp<{ limit: number }>(async (app, { limit }) => {
  const tooLarge = (header: string | undefined): boolean => Number(header ?? 0) > limit
  // A callback hook, not an async one: it runs on every request, and needs no promise.
  app.addHook('onRequest', (req, _reply, done) => {
    if (tooLarge(req.headers['content-length'])) done(new BodyTooLargeError())
    else done()
  })
  app.server.on('checkContinue', (req, res) => {
    if (!tooLarge(req.headers['content-length'])) {
      res.writeContinue()
      app.server.emit('request', req, res)
      return
    }
    const err = new BodyTooLargeError()
    const requestId = requestIdFrom(req.headers['x-request-id'])
    app.log.info({ requestId, url: req.url, contentLength: req.headers['content-length'] }, 'body over the limit refused before 100 Continue')
    writeJsonError(res, 413, { error: err.message, code: err.code }, { 'x-request-id': requestId })
  })
}, { name: 'gateway-body-limit', fastify: '5.x' })

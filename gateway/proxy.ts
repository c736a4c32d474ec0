import proxy from '@fastify/http-proxy'
import type { FastifyError } from 'fastify'
import type { App } from '../lib/http/http-app.js'
import { createBalancer, parseUpstreamList, type Balancer } from './balancer.js'
import { addBufferingParser, BufferedBody, type BufferingOptions } from './buffered-body.js'
import { InvalidPathError, upstreamError } from './errors.js'
import { CLIENT_SOCKET, createFailoverDispatcher } from './failover.js'
import { sendUpstreamAnswer, type FastifyReply, type UpstreamAnswer } from './upstream-answer.js'

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'upgrade', 'trailer']

/*
 * Request headers that are about the client's connection, not the request
 * (RFC 9110 §7.6.1), plus what the buffering makes moot: the body goes with
 * its own Content-Length, and the 100 Continue was the gateway's to send.
 * reply-from already drops `Connection` and the headers it names.
 */
const REQUEST_HOP_BY_HOP: ReadonlySet<string> = new Set(['keep-alive', 'te', 'trailer', 'upgrade', 'transfer-encoding', 'expect', 'content-length'])

const KEEP_ALIVE = /^\s*keep-alive\s*$/i

/** Whether a request header stays behind: hop-by-hop, or `Proxy-*` (which is for the gateway, never the service). */
const staysBehind = (name: string): boolean => REQUEST_HOP_BY_HOP.has(name) || name.startsWith('proxy-')

export interface Upstream {
  /** Service name, also the path prefix it owns: `/usuarios` → usuarios. */
  service: string
  /** Its instances, in turn. */
  balancer: Balancer
}

/**
 * A header the client sent on several lines, which Node joined into one
 * value (`a, b`), goes to the service on as many lines as it came: the
 * service can then tell a repeated Idempotency-Key (refused) from one value.
 * So does Content-Type, of which Node keeps only the first line: the service
 * refuses two. Called only when there are more raw lines than names (a name
 * repeated: the gateway clears the headers it keeps back, it never deletes
 * them). A header left out, or another Node keeps a single value of (Host,
 * Authorization…), stays as it is.
 */
function sendRepeatedAsSent (rawHeaders: readonly string[], headers: Record<string, string | string[] | undefined>): void {
  const lines = new Map<string, string[]>()
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase()
    const values = lines.get(name)
    if (values === undefined) lines.set(name, [rawHeaders[i + 1]!])
    else values.push(rawHeaders[i + 1]!)
  }
  for (const [name, values] of lines) {
    if (values.length > 1 && typeof headers[name] === 'string' && (headers[name] === values.join(', ') || (name === 'content-type' && headers[name] === values[0]))) headers[name] = values
  }
}

/** `urls`: one URL or a comma-separated list of the service's instances. */
export function createUpstream (service: string, urls: string, cooldownMs: number): Upstream {
  return { service, balancer: createBalancer(parseUpstreamList(urls), cooldownMs) }
}

/**
 * Streams `/<service>` and `/<service>/...` to one of the service's
 * instances untouched (bodies are never parsed), over a keep-alive pool per
 * instance, with the request id. Instances are taken in turn; one that
 * refuses connections is skipped for a while (gateway/failover.ts).
 */
export function registerUpstream (app: App, upstream: Upstream, timeoutMs: number, buffering: BufferingOptions): void {
  const prefix = `/${upstream.service}`
  const answerError = (reply: FastifyReply, error: Error): void => {
    const err = upstreamError(upstream.service, error)
    void reply.code(err.statusCode).send({ error: err.message, code: err.code })
  }
  app.register(async (scope) => {
    // createHttpApp's JSON parser is replaced by one that reads any body whole, unparsed.
    scope.removeAllContentTypeParsers()
    addBufferingParser(scope, buffering)
    scope.addHook('preHandler', (req, _reply, done) => {
      // A body is sent as the bytes that came, or not at all (an empty one
      // included); anything else is the `{}` createHttpApp puts in place of a
      // missing body, which reply-from would try to send.
      req.body = Buffer.isBuffer(req.body) && req.body.length > 0 ? new BufferedBody(req.body) : undefined
      // A plain `Connection: keep-alive` (autocannon, browsers) names no other
      // header: cleared here, it is left out as reply-from would, without the
      // `delete` that turns reply-from's copy of the headers into a slow
      // dictionary object. Node took what it needed from it when parsing.
      if (req.headers.connection !== undefined && KEEP_ALIVE.test(req.headers.connection)) req.headers.connection = undefined
      done()
    })
    scope.setErrorHandler((err: FastifyError, _req, reply) => {
      // http-proxy's own refusal of a path escaping the prefix carries no code.
      if (err.statusCode === 400 && err.code === undefined) {
        const e = new InvalidPathError()
        return reply.code(e.statusCode).send({ error: e.message, code: e.code })
      }
      throw err
    })
    await scope.register(proxy, {
      // Empty: each request's instance comes from getUpstream.
      upstream: '',
      prefix,
      rewritePrefix: prefix,
      disableRequestLogging: true,
      destroyAgent: true,
      // The body parser is ours (addBufferingParser), not http-proxy's pass-through one.
      proxyPayloads: false,
      // http-proxy's default returns the reply, a thenable: Fastify then waits
      // for the response's end through reply.then(), an end-of-stream watcher
      // and its listeners per request. reply-from answers by itself.
      handler: (_req, reply, dest, options) => { reply.from(dest, options) },
      undici: createFailoverDispatcher({
        balancer: upstream.balancer,
        connections: 128,
        keepAliveTimeout: 30_000,
        timeoutMs,
        connectTimeoutMs: Math.min(timeoutMs, 5_000)
      }),
      replyOptions: {
        getUpstream: () => upstream.balancer.pick()?.url ?? upstream.balancer.instances[0]!.url,
        // GET/HEAD/OPTIONS are retried once on a socket the upstream closed
        // (keep-alive race); a count above 0 also turns off reply-from's
        // default of retrying a GET answered 503 up to 10 times.
        retriesCount: 1,
        // reply-from's copy of the client's headers is a `{ ...spread }`: in
        // V8 (Node 20) every property then added to such an object costs
        // microseconds (no cached map transition), so the headers sent on are
        // built into a new object instead, the request id and the socket
        // added to it (bench/FINDINGS.md, issue 16).
        rewriteRequestHeaders: (req, headers) => {
          const sent: typeof headers & { [CLIENT_SOCKET]?: unknown } = {}
          const names = Object.keys(headers)
          for (let i = 0; i < names.length; i++) {
            const name = names[i]!
            const value = headers[name]
            if (value !== undefined && !staysBehind(name)) sent[name] = value
          }
          if (req.raw.rawHeaders.length > 2 * Object.keys(req.headers).length) sendRepeatedAsSent(req.raw.rawHeaders, sent)
          if (req.body instanceof BufferedBody) sent['content-length'] = String(req.body.length)
          sent['x-request-id'] = req.id
          // For the dispatcher: a request whose client has gone is not sent.
          sent[CLIENT_SOCKET] = req.raw.socket
          return sent
        },
        rewriteHeaders: (headers, req) => {
          // reply-from copies hop-by-hop headers: the upstream's `connection:
          // keep-alive` would override a client's `Connection: close`.
          for (const name of HOP_BY_HOP) if (headers[name] !== undefined) delete headers[name]
          if (req !== undefined) headers['x-request-id'] = req.id
          return headers
        },
        onResponse: (_req, reply, res) => { sendUpstreamAnswer(reply, res as unknown as UpstreamAnswer) },
        onError: (reply, { error }) => { answerError(reply, error) }
      }
    })
  })
}

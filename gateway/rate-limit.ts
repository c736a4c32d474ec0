import rateLimit from '@fastify/rate-limit'
import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { TooManyRequestsError } from './errors.js'

export interface RateLimitOptions {
  /** Requests per client per window; 0 turns the limit off. */
  max: number
  windowMs: number
  /** The fingerprint of a valid API key, when the request carries one. */
  apiKeyOf: (req: FastifyRequest) => string | undefined
}

/**
 * Routes the gateway answers by itself, cheaply, that a burst must not
 * starve: the liveness probe and Prometheus' scrape. They neither count nor
 * are refused. /health stays limited: it asks every service instance.
 */
const EXEMPT: ReadonlySet<string | undefined> = new Set(['/health/live', '/metrics'])

/**
 * Per-client limit on every route but EXEMPT: a client is its valid API key, or its IP
 * address without one (a wrong key counts against the IP, so guessing keys is
 * limited too). Over the limit: 429 JSON with Retry-After.
 *
 * The limiter runs as a root onRequest hook rather than through the plugin's
 * onRoute machinery, so routes declared before it loaded are limited as well.
 */
export const gatewayRateLimit = fp<RateLimitOptions>(async (app, opts) => {
  if (opts.max === 0) return
  await app.register(rateLimit, {
    global: false,
    max: opts.max,
    timeWindow: opts.windowMs,
    keyGenerator: (req) => {
      const key = opts.apiKeyOf(req)
      return key === undefined ? `ip:${req.ip}` : `key:${key}`
    },
    // By the route matched, not the URL: `/metrics?x` is /metrics, and an unknown path is limited.
    allowList: (req) => EXEMPT.has(req.routeOptions.url),
    errorResponseBuilder: () => new TooManyRequestsError()
  })
  app.addHook('onRequest', app.rateLimit())
}, { name: 'gateway-rate-limit', fastify: '5.x' })

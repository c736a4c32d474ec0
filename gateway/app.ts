import type { Logger } from 'pino'
import { BODY_LIMIT, createHttpApp, type App } from '../lib/http/http-app.js'
import { createMetrics, metricsPlugin } from '../lib/observability/metrics.js'
import { createApiKeys, gatewayAuth, parseApiKeys } from './auth.js'
import { gatewayBodyLimit } from './body-limit.js'
import type { GatewayConfig } from './config.js'
import { dashboard } from './dashboard.js'
import { gatewayDocs } from './docs.js'
import { registerHealthRoutes } from './health.js'
import { gatewayUpstreamMetrics } from './metrics.js'
import { createUpstream, registerUpstream, type Upstream } from './proxy.js'
import { gatewayRateLimit } from './rate-limit.js'
import { OneLinePerRequest } from '../lib/http/request-log.js'

/** The public entry point: routes, request ids, API keys, limits, health. Never listens. */
export function buildGatewayApp (config: GatewayConfig, logger: Logger): App {
  const app = createHttpApp(logger, BODY_LIMIT, new OneLinePerRequest('debug'), {
    headersMs: config.GATEWAY_HEADERS_TIMEOUT_MS,
    keepAliveMs: config.GATEWAY_KEEPALIVE_TIMEOUT_MS
  })
  const upstreams: Upstream[] = [
    createUpstream('usuarios', config.USUARIOS_URL, config.UPSTREAM_COOLDOWN_MS),
    createUpstream('pagos', config.PAGOS_URL, config.UPSTREAM_COOLDOWN_MS)
  ]
  // Before the routes, so their hooks run first on every route: limit, then key, then size.
  const apiKeys = createApiKeys(parseApiKeys(config.GATEWAY_API_KEYS))
  app.register(gatewayRateLimit, { max: config.RATE_LIMIT_MAX, windowMs: config.RATE_LIMIT_WINDOW_MS, apiKeyOf: apiKeys.identify })
  app.register(gatewayAuth, { apiKeys, prefixes: upstreams.map((u) => `/${u.service}`) })
  app.register(gatewayBodyLimit, { limit: config.GATEWAY_BODY_LIMIT })
  // /metrics, /openapi.json, /docs and the dashboard at / stay open without a key (auth covers /usuarios and /pagos only).
  const metrics = createMetrics('gateway')
  app.register(metricsPlugin, { metrics })
  app.register(gatewayUpstreamMetrics, { metrics, upstreams: upstreams.map((u) => u.service) })
  app.register(gatewayDocs, { apiKeys: apiKeys.enabled })
  app.register(dashboard)
  const buffering = { limit: config.GATEWAY_BODY_LIMIT, idleMs: config.GATEWAY_BODY_TIMEOUT_MS }
  for (const upstream of upstreams) registerUpstream(app, upstream, config.UPSTREAM_TIMEOUT_MS, buffering)
  registerHealthRoutes(app, upstreams, config.HEALTH_TIMEOUT_MS)
  return app
}

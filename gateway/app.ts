import type { Logger } from 'pino'
import { createHttpApp, type App } from '../lib/http.js'
import type { GatewayConfig } from './config.js'
import { registerHealthRoutes } from './health.js'
import { registerUpstream, type Upstream } from './proxy.js'

/** The public entry point: routes, request ids, health. Never listens. */
export function buildGatewayApp (config: GatewayConfig, logger: Logger): App {
  const app = createHttpApp(logger)
  const upstreams: Upstream[] = [
    { servicio: 'usuarios', url: config.USUARIOS_URL },
    { servicio: 'pagos', url: config.PAGOS_URL }
  ]
  for (const upstream of upstreams) registerUpstream(app, upstream, config.UPSTREAM_TIMEOUT_MS)
  registerHealthRoutes(app, upstreams, config.HEALTH_TIMEOUT_MS)
  return app
}

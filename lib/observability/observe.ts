import { asyncApiDocument } from '../../contracts/asyncapi.js'
import type { Operation } from '../../contracts/http/api.js'
import type { App } from '../http/http-app.js'
import { createMetrics, metricsPlugin, type Metrics } from './metrics.js'
import { serviceOpenApi } from '../http/openapi.js'

const DESCRIPTIONS: Record<'usuarios' | 'pagos', string> = {
  usuarios: 'Usuarios y saldos; acepta los pagos (los debita y los deja pendientes) y aplica su resultado.',
  pagos: 'Procesa los pagos que usuarios acepta, con un proveedor enchufable, y publica su resultado.'
}

/**
 * What every service exposes about itself: `GET /metrics` (with a request
 * histogram), `GET /openapi.json` generated from its routes and
 * `GET /asyncapi.json`. Await it right after createHttpApp, before any route.
 */
export async function observe (app: App, service: 'usuarios' | 'pagos', operations: Operation[], amqpPrefix: string): Promise<Metrics> {
  // Loaded now, not queued: @fastify/swagger sees a route only if its
  // onRoute hook is in place when the route is declared.
  await app.register(serviceOpenApi, {
    title: `Microservicios de pagos: ${service}`,
    description: `${DESCRIPTIONS[service]} Por el gateway (puerto 5002) el documento completo está en /openapi.json y la interfaz en /docs.`,
    operations,
    asyncapi: asyncApiDocument(amqpPrefix)
  })
  const metrics = createMetrics(service)
  await app.register(metricsPlugin, { metrics })
  return metrics
}

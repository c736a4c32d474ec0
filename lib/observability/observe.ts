import { asyncApiDocument } from '../../contracts/asyncapi.js'
import type { Operation } from '../../contracts/http/api.js'
import type { App } from '../http/http-app.js'
import { createMetrics, metricsPlugin, type Metrics } from './metrics.js'
import { serviceOpenApi } from '../http/openapi.js'

export interface ObserveOptions {
  /** The `service` label of every series. */
  service: string
  /** The OpenAPI title. */
  title: string
  /** The OpenAPI description, as the service words it. */
  description: string
  /** The service's HTTP operations (contracts/http/api.ts). */
  operations: Operation[]
  /** AMQP_PREFIX: names the exchanges and queues in /asyncapi.json. */
  amqpPrefix: string
}

/**
 * What every service exposes about itself: `GET /metrics` (with a request
 * histogram), `GET /openapi.json` generated from its routes and
 * `GET /asyncapi.json`. Await it right after createHttpApp, before any route.
 */
export async function observe (app: App, opts: ObserveOptions): Promise<Metrics> {
  // Loaded now, not queued: @fastify/swagger sees a route only if its
  // onRoute hook is in place when the route is declared.
  await app.register(serviceOpenApi, {
    title: opts.title,
    description: opts.description,
    operations: opts.operations,
    asyncapi: asyncApiDocument(opts.amqpPrefix)
  })
  const metrics = createMetrics(opts.service)
  await app.register(metricsPlugin, { metrics })
  return metrics
}

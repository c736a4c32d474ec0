import fp from 'fastify-plugin'
import { sql, type Kysely } from 'kysely'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import { Type } from 'typebox'
import { Messages, type MessageName } from '../../contracts/messages.js'
import type { Broker } from '../messaging/broker.js'
import type { BrokerMetrics, DeadLetterCause } from '../messaging/delivery.js'

/** Seconds; from a cached read to a slow upstream. */
export const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
/** Every message of the contracts, so that each counter starts at 0. */
const MESSAGES = Object.keys(Messages) as MessageName[]
const CAUSES: DeadLetterCause[] = ['invalid', 'rejected', 'exhausted']

/**
 * One Prometheus registry per app instance (tests build several apps in one
 * process), with the process metrics and the counters the broker moves.
 * Every series carries `service`.
 */
export interface Metrics {
  readonly service: string
  readonly registry: Registry
  readonly broker: BrokerMetrics
}

export function createMetrics (service: string): Metrics {
  const registry = new Registry()
  registry.setDefaultLabels({ service })
  collectDefaultMetrics({ register: registry })
  const registers = [registry]
  const published = new Counter({ name: 'messages_published_total', help: 'Messages published to the broker and confirmed by it', labelNames: ['message'], registers })
  const consumed = new Counter({ name: 'messages_consumed_total', help: 'Deliveries taken from a work queue and settled, whatever their outcome', labelNames: ['message'], registers })
  const retried = new Counter({ name: 'messages_retried_total', help: 'Deliveries that failed for a transient reason and were scheduled for a delayed retry', labelNames: ['message'], registers })
  const deadLettered = new Counter({ name: 'messages_dead_lettered_total', help: 'Messages sent to a dead-letter queue, by cause (invalid: failed its contract, rejected: refused by the handler, exhausted: retries ran out)', labelNames: ['message', 'cause'], registers })
  return {
    service,
    registry,
    broker: {
      published: (message) => published.inc({ message }),
      consumed: (message) => consumed.inc({ message }),
      retried: (message) => retried.inc({ message }),
      deadLettered: (message, cause) => deadLettered.inc({ message, cause })
    }
  }
}

/** Shows every message counter at 0 from the start, so `rate()` and alerts see the first one. */
function zeroMessageCounters (registry: Registry): void {
  for (const name of ['messages_published_total', 'messages_consumed_total', 'messages_retried_total']) {
    const counter = registry.getSingleMetric(name) as Counter<'message'> | undefined
    for (const message of MESSAGES) counter?.inc({ message }, 0)
  }
  const dead = registry.getSingleMetric('messages_dead_lettered_total') as Counter<'message' | 'cause'> | undefined
  for (const message of MESSAGES) for (const cause of CAUSES) dead?.inc({ message, cause }, 0)
}

export interface MessagingSources {
  /** The service's database: its outbox table is read on every scrape. */
  db: Kysely<any>
  broker: Broker
}

/** Gauges read at scrape time: outbox backlog and oldest row age, broker connection. */
export function watchMessaging (metrics: Metrics, { db, broker }: MessagingSources): void {
  const registers = [metrics.registry]
  let lastBacklog = 0
  let lastAge = 0
  // One query answers both gauges; a scrape collects them one after the other.
  let pending: Promise<void> | undefined
  const read = async (): Promise<void> => {
    pending ??= (async () => {
      try {
        const row = await db.selectFrom('outbox')
          .select([sql<number>`count(*)`.as('n'), sql<string | null>`min(creado_en)`.as('oldest')])
          .executeTakeFirst()
        lastBacklog = Number(row?.n ?? 0)
        const oldest = row?.oldest === null || row?.oldest === undefined ? undefined : Date.parse(row.oldest)
        lastAge = oldest === undefined || Number.isNaN(oldest) ? 0 : Math.max(0, (Date.now() - oldest) / 1000)
      } catch {
        // The database is away (or closing): keep the last figures; readiness reports it.
      } finally {
        setImmediate(() => { pending = undefined })
      }
    })()
    await pending
  }
  new Gauge({
    name: 'outbox_backlog',
    help: 'Outbox rows written and not yet published (confirmed) to the broker',
    registers,
    async collect () { await read(); this.set(lastBacklog) }
  })
  new Gauge({
    name: 'outbox_oldest_age_seconds',
    help: 'Age of the oldest unpublished outbox row (0 when the outbox is empty)',
    registers,
    async collect () { await read(); this.set(lastAge) }
  })
  zeroMessageCounters(metrics.registry)
  new Gauge({
    name: 'broker_connected',
    help: '1 while the connection to RabbitMQ is up',
    registers,
    collect () { this.set(broker.isConnected() ? 1 : 0) }
  })
}

/** The route pattern (`/usuarios/:usuarioId`), never the raw URL: one series per route, however many ids. */
export function routeLabel (url: string | undefined): string {
  return url ?? 'unmatched'
}

/**
 * `GET /metrics` (Prometheus text format) and a request-duration histogram
 * by method, route pattern and status code.
 */
export const metricsPlugin = fp<{ metrics: Metrics }>(async (app, { metrics }) => {
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP requests served, by route pattern and status code',
    labelNames: ['method', 'route', 'status_code'],
    buckets: DURATION_BUCKETS,
    registers: [metrics.registry]
  })
  // A callback hook, not an async one: it runs on every request, and needs no promise.
  app.addHook('onResponse', (req, reply, done) => {
    duration.observe({ method: req.method, route: routeLabel(req.routeOptions.url), status_code: String(reply.statusCode) }, reply.elapsedTime / 1000)
    done()
  })
  app.get('/metrics', {
    schema: {
      summary: 'Métricas en formato de exposición de Prometheus',
      tags: ['operación'],
      produces: ['text/plain'],
      response: { 200: Type.String({ description: 'Texto de exposición de Prometheus 0.0.4' }) }
    }
  }, async (_req, reply) => {
    const text = await metrics.registry.metrics()
    return await reply.type(metrics.registry.contentType).send(text)
  })
  app.addHook('onClose', async () => { metrics.registry.clear() })
}, { name: 'metrics', fastify: '5.x' })

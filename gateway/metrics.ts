import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { Counter, Histogram } from 'prom-client'
import { DURATION_BUCKETS, type Metrics } from '../lib/metrics.js'

export interface UpstreamMetricsOptions {
  metrics: Metrics
  /** Service names, which are also the path prefixes they own (`usuarios` → `/usuarios`). */
  upstreams: string[]
}

/**
 * Per upstream: how long proxied calls take (from handing the request to the
 * proxy until the answer is sent) and how many end in a 5xx — the gateway's
 * own 502/503/504 (unreachable, broken, slow) or the service's 5xx. Calls the
 * gateway refuses itself (401, 413, 429) never reach the proxy and don't count.
 */
export const gatewayUpstreamMetrics = fp<UpstreamMetricsOptions>(async (app, { metrics, upstreams }) => {
  const registers = [metrics.registry]
  const latency = new Histogram({
    name: 'gateway_upstream_duration_seconds',
    help: 'Proxied calls, by upstream service and status code',
    labelNames: ['upstream', 'status_code'],
    buckets: DURATION_BUCKETS,
    registers
  })
  const errors = new Counter({
    name: 'gateway_upstream_errors_total',
    help: 'Proxied calls that ended in a 5xx, by upstream service and status code',
    labelNames: ['upstream', 'status_code'],
    registers
  })
  for (const upstream of upstreams) for (const status of ['502', '503', '504']) errors.inc({ upstream, status_code: status }, 0)

  const upstreamOf = (req: FastifyRequest): string | undefined => {
    const route = req.routeOptions.url
    return route === undefined ? undefined : upstreams.find((u) => route === `/${u}` || route.startsWith(`/${u}/`))
  }
  const started = new WeakMap<FastifyRequest, { upstream: string, at: bigint }>()
  app.addHook('preHandler', async (req) => {
    const upstream = upstreamOf(req)
    if (upstream !== undefined) started.set(req, { upstream, at: process.hrtime.bigint() })
  })
  app.addHook('onResponse', async (req, reply) => {
    const call = started.get(req)
    if (call === undefined) return
    const labels = { upstream: call.upstream, status_code: String(reply.statusCode) }
    latency.observe(labels, Number(process.hrtime.bigint() - call.at) / 1e9)
    if (reply.statusCode >= 500) errors.inc(labels)
  })
}, { name: 'gateway-upstream-metrics', fastify: '5.x' })

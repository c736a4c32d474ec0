import type { FastifyRequest, onResponseHookHandler, preHandlerHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { Counter, Histogram } from 'prom-client'
import { DURATION_BUCKETS, type Metrics } from '../lib/observability/metrics.js'

export interface UpstreamMetricsOptions {
  metrics: Metrics
  /** Service names, which are also the path prefixes they own (`usuarios` → `/usuarios`). */
  upstreams: string[]
}

/** The request's field holding when it was handed to the proxy (performance.now(), ms); 0 until then. */
const CALLED_AT = 'gatewayCalledAt'
type TimedRequest = FastifyRequest & { [CALLED_AT]: number }

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

  // Hooks on the proxied routes only, bound to their upstream when the route
  // is declared: nothing per request on other routes, no prefix matching.
  // A field of the request, not a WeakMap entry: an entry per request is
  // garbage the collector has to trace (bench/FINDINGS.md, issue 16).
  app.decorateRequest(CALLED_AT, 0)
  const startCall: preHandlerHookHandler = (req, _reply, done) => {
    (req as TimedRequest)[CALLED_AT] = performance.now()
    done()
  }
  app.addHook('onRoute', (route) => {
    const upstream = upstreams.find((u) => route.url === `/${u}` || route.url.startsWith(`/${u}/`))
    if (upstream === undefined) return
    const endCall: onResponseHookHandler = (req, reply, done) => {
      const at = (req as TimedRequest)[CALLED_AT]
      if (at > 0) {
        const labels = { upstream, status_code: String(reply.statusCode) }
        latency.observe(labels, (performance.now() - at) / 1000)
        if (reply.statusCode >= 500) errors.inc(labels)
      }
      done()
    }
    route.preHandler = [...hooksOf(route.preHandler), startCall]
    route.onResponse = [...hooksOf(route.onResponse), endCall]
  })
}, { name: 'gateway-upstream-metrics', fastify: '5.x' })

const hooksOf = <H>(hooks: H | H[] | undefined): H[] => hooks === undefined ? [] : Array.isArray(hooks) ? hooks : [hooks]

import { Type, type Static } from 'typebox'
import type { App } from '../lib/http/http-app.js'
import { ServiceNotReadyError, ServiceUnavailableError, UpstreamTimeoutError } from './errors.js'
import type { Upstream } from './proxy.js'

// Instances are shown by position, not by address: /health is open without a
// key and must not reveal internal hosts.
const InstanceHealthSchema = Type.Object({
  instancia: Type.Integer({ minimum: 1, description: 'Posición en USUARIOS_URL / PAGOS_URL' }),
  status: Type.Union([Type.Literal('ok'), Type.Literal('caido')]),
  error: Type.Optional(Type.String()),
  /** Passive health: false while the gateway skips it after a refused connection. */
  disponible: Type.Boolean(),
  peticiones: Type.Integer({ description: 'Peticiones enviadas desde que arrancó el gateway' })
}, { additionalProperties: true, description: 'Lo que respondió /health/ready de la instancia' })
type InstanceHealth = Static<typeof InstanceHealthSchema>

const ServiceHealthSchema = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('caido')]),
  error: Type.Optional(Type.String()),
  instancias: Type.Array(InstanceHealthSchema)
}, { additionalProperties: true, description: 'ok si al menos una instancia está lista; con los campos de una de ellas' })
type ServiceHealth = Static<typeof ServiceHealthSchema>

/** The body of the gateway's GET /health, 200 (`ok`) or 503 (`degradado`): one entry per service, by name. */
export const GatewayHealthSchema = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degradado')]),
  servicios: Type.Record(Type.String(), ServiceHealthSchema)
})

function asObject (value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : {}
}

type Probe = Omit<InstanceHealth, 'instancia' | 'disponible' | 'peticiones'>

/** Asks one instance whether it is ready; never throws, never waits past timeoutMs. */
async function probe (service: string, url: string, timeoutMs: number, requestId: string): Promise<Probe> {
  try {
    const res = await fetch(new URL('/health/ready', url), {
      headers: { accept: 'application/json', 'x-request-id': requestId },
      signal: AbortSignal.timeout(timeoutMs)
    })
    const body = asObject(await res.json().catch(() => undefined))
    if (res.status === 200 && body.status === 'ok') return { ...body, status: 'ok' }
    return { ...body, status: 'caido', error: new ServiceNotReadyError(service, res.status).message }
  } catch (err) {
    if (err instanceof Error && err.name === 'TimeoutError') return { status: 'caido', error: new UpstreamTimeoutError(service).message }
    const code = asObject(err instanceof Error ? err.cause : undefined).code
    return { status: 'caido', error: `${new ServiceUnavailableError(service).message}${typeof code === 'string' ? ` (${code})` : ''}` }
  }
}

/** Every instance of a service: ok when at least one is ready (the gateway sends traffic there). */
async function probeService ({ service, balancer }: Upstream, timeoutMs: number, requestId: string): Promise<ServiceHealth> {
  const probes = await Promise.all(balancer.instances.map(async (i) => await probe(service, i.url, timeoutMs, requestId)))
  const now = Date.now()
  const instances = balancer.instances.map((i, k): InstanceHealth => {
    // A ready answer is as good as a request answered: take it again now.
    if (probes[k]!.status === 'ok') balancer.markUp(i.origin)
    return { instancia: k + 1, ...probes[k]!, disponible: i.downUntil <= now, peticiones: i.requests }
  })
  const ready = probes.find((p) => p.status === 'ok')
  // The fields of a ready instance (or the first), as with a single instance.
  return { ...(ready ?? probes[0]!), instancias: instances }
}

/** /health/live: the gateway itself answers. /health: every service has a ready instance; each instance is shown. */
export function registerHealthRoutes (app: App, upstreams: Upstream[], timeoutMs: number): void {
  app.get('/health/live', { schema: { response: { 200: Type.Object({ status: Type.Literal('ok') }) } } }, async () => ({ status: 'ok' as const }))
  app.get('/health', { schema: { response: { 200: GatewayHealthSchema, 503: GatewayHealthSchema } } }, async (req, reply) => {
    const results = await Promise.all(upstreams.map(async (u) => await probeService(u, timeoutMs, req.id)))
    const services = Object.fromEntries(upstreams.map((u, i) => [u.service, results[i]!]))
    const ok = results.every((r) => r.status === 'ok')
    if (!ok || results.some((r) => r.instancias.some((i) => i.status !== 'ok'))) req.log.warn({ servicios: services }, 'upstream instance not ready')
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degradado', servicios: services })
  })
}

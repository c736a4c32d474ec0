import { Type, type Static } from 'typebox'
import type { App } from '../lib/http.js'
import type { Upstream } from './proxy.js'

const ServicioHealthSchema = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('caido')]),
  error: Type.Optional(Type.String())
}, { additionalProperties: true, description: 'Lo que respondió /health/ready del servicio' })
type ServicioHealth = Static<typeof ServicioHealthSchema>

export const GatewayHealthSchema = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degradado')]),
  servicios: Type.Record(Type.String(), ServicioHealthSchema)
})

function asObject (value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : {}
}

/** Asks one service whether it is ready; never throws, never waits past timeoutMs. */
async function probe ({ servicio, url }: Upstream, timeoutMs: number, requestId: string): Promise<ServicioHealth> {
  try {
    const res = await fetch(new URL('/health/ready', url), {
      headers: { accept: 'application/json', 'x-request-id': requestId },
      signal: AbortSignal.timeout(timeoutMs)
    })
    const body = asObject(await res.json().catch(() => undefined))
    if (res.status === 200 && body.status === 'ok') return { ...body, status: 'ok' }
    return { ...body, status: 'caido', error: `Servicio ${servicio} no está listo (HTTP ${res.status})` }
  } catch (err) {
    if (err instanceof Error && err.name === 'TimeoutError') return { status: 'caido', error: `Servicio ${servicio} no respondió a tiempo` }
    const code = asObject(err instanceof Error ? err.cause : undefined).code
    return { status: 'caido', error: `Servicio ${servicio} no disponible${typeof code === 'string' ? ` (${code})` : ''}` }
  }
}

/** /health/live: the gateway itself answers. /health: every upstream is ready. */
export function registerHealthRoutes (app: App, upstreams: Upstream[], timeoutMs: number): void {
  app.get('/health/live', { schema: { response: { 200: Type.Object({ status: Type.Literal('ok') }) } } }, async () => ({ status: 'ok' as const }))
  app.get('/health', { schema: { response: { 200: GatewayHealthSchema, 503: GatewayHealthSchema } } }, async (req, reply) => {
    const results = await Promise.all(upstreams.map((u) => probe(u, timeoutMs, req.id)))
    const servicios = Object.fromEntries(upstreams.map((u, i) => [u.servicio, results[i]!]))
    const ok = results.every((r) => r.status === 'ok')
    if (!ok) req.log.warn({ servicios }, 'upstream not ready')
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degradado', servicios })
  })
}

import { Type } from 'typebox'
import type { App } from './http-app.js'

export const HealthSchema = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degradado')]),
  servicio: Type.String(),
  baseDeDatos: Type.Union([Type.Literal('ok'), Type.Literal('error')]),
  // 'deshabilitado' (an app without a broker) no longer happens: every app
  // has one (tests an in-memory one). Kept so the published schema stays as it was.
  broker: Type.Union([Type.Literal('conectado'), Type.Literal('desconectado'), Type.Literal('deshabilitado')])
}, { additionalProperties: true })

export interface HealthChecks {
  servicio: string
  database: () => Promise<void>
  brokerConnected: () => boolean
  /** Figures added to the /health/ready body; they never make it unready. */
  extra?: () => Promise<Record<string, unknown>>
}

/** /health/live: the process answers. /health/ready: database and broker reachable. */
export function registerHealthRoutes (app: App, checks: HealthChecks): void {
  app.get('/health/live', { schema: { response: { 200: Type.Object({ status: Type.Literal('ok') }) } } }, async () => ({ status: 'ok' as const }))
  app.get('/health/ready', { schema: { response: { 200: HealthSchema, 503: HealthSchema } } }, async (req, reply) => {
    let baseDeDatos: 'ok' | 'error' = 'ok'
    try {
      await checks.database()
    } catch (err) {
      req.log.warn({ err }, 'database not ready')
      baseDeDatos = 'error'
    }
    const broker = checks.brokerConnected() ? 'conectado' : 'desconectado'
    const ok = baseDeDatos === 'ok' && broker !== 'desconectado'
    const extra = checks.extra === undefined ? {} : await checks.extra()
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degradado', servicio: checks.servicio, baseDeDatos, broker, ...extra })
  })
}

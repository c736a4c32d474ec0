import { ReembolsosApi } from '../../contracts/http/reembolsos-operations.js'
import { toCentimos } from '../../contracts/money.js'
import type { App } from '../../lib/http/http-app.js'
import { routeOf } from '../../lib/http/operation-route.js'
import { reembolsarAnswer, type ReembolsarAnswer } from '../answers.js'
import { IdempotencyKeyReusedError, PagoUsuarioNotFoundError, ReembolsoNotFoundError, UsuarioNotFoundError } from '../errors.js'
import type { ReembolsosStore } from '../store/reembolsos-store.js'

/** Refunds of a payment: ask for one, list them, get one (contracts/http/reembolsos-operations.ts). */
export function registerReembolsosRoutes (app: App, reembolsos: ReembolsosStore): void {
  app.route({
    ...routeOf(ReembolsosApi.reembolsarPago),
    handler: async (req, reply) => {
      const usuarioId = Number(req.params.usuarioId)
      const pagoId = req.params.pagoId.toLowerCase()
      const outcome = await reembolsos.reembolsar({
        usuarioId,
        pagoId,
        montoCentimos: req.body?.monto === undefined ? undefined : toCentimos(req.body.monto),
        motivo: req.body?.motivo ?? null,
        correlationId: req.id,
        idempotencyKey: req.headers['idempotency-key']
      })
      if (outcome.kind === 'usuario-not-found') throw new UsuarioNotFoundError()
      if (outcome.kind === 'pago-not-found') throw new PagoUsuarioNotFoundError()
      if (outcome.kind === 'key-reused') throw new IdempotencyKeyReusedError()
      const replayed = outcome.kind === 'replayed'
      if (replayed) reply.header('idempotent-replayed', 'true')
      const answer = replayed ? outcome.answer as ReembolsarAnswer : reembolsarAnswer(outcome)
      if (answer.status === 409) return await reply.code(409).send(answer.body)
      const { reembolso } = answer.body
      reply.header('location', `/usuarios/${usuarioId}/pagos/${pagoId}/reembolsos/${reembolso.id}`)
      req.log.info({ reembolsoId: reembolso.id, pagoId, usuarioId, monto: reembolso.monto, replayed }, 'reembolso aceptado')
      return await reply.code(202).send(answer.body)
    }
  })

  app.route({
    ...routeOf(ReembolsosApi.listarReembolsos),
    handler: async (req) => {
      const found = await reembolsos.list(Number(req.params.usuarioId), req.params.pagoId.toLowerCase())
      if (found.kind === 'usuario-not-found') throw new UsuarioNotFoundError()
      if (found.kind === 'pago-not-found') throw new PagoUsuarioNotFoundError()
      return { reembolsos: found.reembolsos }
    }
  })

  app.route({
    ...routeOf(ReembolsosApi.obtenerReembolso),
    handler: async (req) => {
      const found = await reembolsos.find(Number(req.params.usuarioId), req.params.pagoId.toLowerCase(), req.params.reembolsoId.toLowerCase())
      if (found.kind === 'usuario-not-found') throw new UsuarioNotFoundError()
      if (found.kind === 'pago-not-found') throw new PagoUsuarioNotFoundError()
      if (found.kind === 'reembolso-not-found') throw new ReembolsoNotFoundError()
      return found.reembolso
    }
  })
}

import { pagination } from '../../contracts/http/common.js'
import { UsuariosApi } from '../../contracts/http/usuarios-operations.js'
import { toCentimos } from '../../contracts/money.js'
import type { App } from '../../lib/http/http-app.js'
import { routeOf } from '../../lib/http/operation-route.js'
import { pagarAnswer, type PagarAnswer } from '../answers.js'
import { IdempotencyKeyReusedError, PagoUsuarioNotFoundError, UsuarioNotFoundError } from '../errors.js'
import type { CuentaPagosStore } from '../store/cuenta-pagos-store.js'

/**
 * The account's payments: pay, list, get (contracts/http/usuarios-operations.ts).
 * `montoDefecto` (money) is what a POST with no body pays.
 */
export function registerCuentaPagosRoutes (app: App, pagos: CuentaPagosStore, montoDefecto: number): void {
  app.route({
    ...routeOf(UsuariosApi.pagar),
    handler: async (req, reply) => {
      const usuarioId = Number(req.params.usuarioId)
      const outcome = await pagos.pagar({
        usuarioId,
        montoCentimos: toCentimos(req.body?.monto ?? montoDefecto),
        concepto: req.body?.concepto ?? null,
        correlationId: req.id,
        idempotencyKey: req.headers['idempotency-key']
      })
      if (outcome.kind === 'usuario-not-found') throw new UsuarioNotFoundError()
      if (outcome.kind === 'key-reused') throw new IdempotencyKeyReusedError()
      const replayed = outcome.kind === 'replayed'
      if (replayed) reply.header('idempotent-replayed', 'true')
      const answer = replayed ? outcome.answer as PagarAnswer : pagarAnswer(outcome)
      if (answer.status === 409) return await reply.code(409).send(answer.body)
      const { pago } = answer.body
      reply.header('location', `/usuarios/${usuarioId}/pagos/${pago.id}`)
      req.log.info({ pagoId: pago.id, usuarioId, monto: pago.monto, replayed }, 'pago aceptado')
      return await reply.code(202).send(answer.body)
    }
  })

  app.route({
    ...routeOf(UsuariosApi.listarPagosDeUsuario),
    handler: async (req) => {
      const page = pagination(req.query)
      const found = await pagos.list(Number(req.params.usuarioId), { ...page, estado: req.query.estado })
      if (found === undefined) throw new UsuarioNotFoundError()
      return { ...found, ...page }
    }
  })

  app.route({
    ...routeOf(UsuariosApi.obtenerPagoDeUsuario),
    handler: async (req) => {
      const found = await pagos.find(Number(req.params.usuarioId), req.params.pagoId.toLowerCase())
      if (found.kind === 'usuario-not-found') throw new UsuarioNotFoundError()
      if (found.kind === 'pago-not-found') throw new PagoUsuarioNotFoundError()
      return found.pago
    }
  })
}

import { pagination } from '../../contracts/http/common.js'
import { UsuariosApi } from '../../contracts/http/usuarios-operations.js'
import { toCentimos } from '../../contracts/money.js'
import { normalizarNombre } from '../../contracts/text.js'
import type { App } from '../../lib/http/http-app.js'
import { routeOf } from '../../lib/http/operation-route.js'
import { recargarAnswer } from '../answers.js'
import { IdempotencyKeyReusedError, UsuarioNotFoundError } from '../errors.js'
import type { CuentasStore } from '../store/cuentas-store.js'

/** Usuarios and their balances: list, create, get, top up (contracts/http/usuarios-operations.ts). */
export function registerUsuariosRoutes (app: App, cuentas: CuentasStore): void {
  app.route({
    ...routeOf(UsuariosApi.obtenerUsuario),
    handler: async (req) => {
      const usuario = await cuentas.find(Number(req.params.usuarioId))
      if (usuario === undefined) throw new UsuarioNotFoundError()
      return usuario
    }
  })

  app.route({
    ...routeOf(UsuariosApi.listarUsuarios),
    handler: async (req) => {
      const page = pagination(req.query)
      return { ...(await cuentas.list(page)), ...page }
    }
  })

  app.route({
    ...routeOf(UsuariosApi.crearUsuario),
    handler: async (req, reply) => {
      const usuario = await cuentas.create(normalizarNombre(req.body.nombre), toCentimos(req.body.saldo ?? 0))
      return await reply.code(201).header('location', `/usuarios/${usuario.id}`).send(usuario)
    }
  })

  app.route({
    ...routeOf(UsuariosApi.recargarSaldo),
    handler: async (req, reply) => {
      const outcome = await cuentas.recargar(Number(req.params.usuarioId), toCentimos(req.body.monto), req.headers['idempotency-key'])
      if (outcome.kind === 'usuario-not-found') throw new UsuarioNotFoundError()
      if (outcome.kind === 'key-reused') throw new IdempotencyKeyReusedError()
      if (outcome.kind === 'replayed') reply.header('idempotent-replayed', 'true')
      const answer = outcome.kind === 'replayed' ? outcome.answer as ReturnType<typeof recargarAnswer> : recargarAnswer(outcome)
      return answer.status === 200 ? await reply.code(200).send(answer.body) : await reply.code(409).send(answer.body)
    }
  })
}

import { pagination } from '../../contracts/http/common.js'
import { UsuariosRoutes, type RecargarResponse } from '../../contracts/http/usuarios.js'
import { toCentimos } from '../../contracts/money.js'
import { normalizarNombre } from '../../contracts/text.js'
import type { App } from '../../lib/http/http-app.js'
import type { CuentasStore } from '../store/cuentas-store.js'

export function registerUsuariosRoutes (app: App, cuentas: CuentasStore): void {
  app.get('/usuarios/:usuarioId', { schema: UsuariosRoutes.obtener }, async (req) => await cuentas.obtener(Number(req.params.usuarioId)))

  app.get('/usuarios', { schema: UsuariosRoutes.listar }, async (req) => {
    const page = pagination(req.query)
    return { ...(await cuentas.listar(page)), ...page }
  })

  app.post('/usuarios', { schema: UsuariosRoutes.crear }, async (req, reply) => {
    const usuario = await cuentas.crear(normalizarNombre(req.body.nombre), toCentimos(req.body.saldo ?? 0))
    return await reply.code(201).header('location', `/usuarios/${usuario.id}`).send(usuario)
  })

  app.post('/usuarios/:usuarioId/recargar', { schema: UsuariosRoutes.recargar }, async (req, reply) => {
    const result = await cuentas.recargar(Number(req.params.usuarioId), toCentimos(req.body.monto), req.headers['idempotency-key'])
    if (result.replayed) reply.header('idempotent-replayed', 'true')
    return await reply.code(result.status as 200).send(result.body as RecargarResponse)
  })
}

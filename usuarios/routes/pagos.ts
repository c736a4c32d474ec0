import { pagination } from '../../contracts/http/common.js'
import { UsuariosRoutes, type PagarResponse } from '../../contracts/http/usuarios.js'
import { toCentimos } from '../../contracts/money.js'
import type { App } from '../../lib/http/http-app.js'
import type { PagosStore } from '../store/pagos-store.js'

export function registerPagosRoutes (app: App, pagos: PagosStore, montoDefecto: number): void {
  app.post('/usuarios/:usuarioId/pagar', { schema: UsuariosRoutes.pagar }, async (req, reply) => {
    const usuarioId = Number(req.params.usuarioId)
    const result = await pagos.pagar({
      usuarioId,
      montoCentimos: toCentimos(req.body?.monto ?? montoDefecto),
      concepto: req.body?.concepto ?? null,
      requestId: req.id,
      idempotencyKey: req.headers['idempotency-key']
    })
    if (result.replayed) reply.header('idempotent-replayed', 'true')
    if (result.status === 202) {
      const { pago } = result.body as PagarResponse
      reply.header('location', `/usuarios/${usuarioId}/pagos/${pago.id}`)
      req.log.info({ pagoId: pago.id, usuarioId, monto: pago.monto, replayed: result.replayed }, 'pago aceptado')
    }
    return await reply.code(result.status as 202).send(result.body as PagarResponse)
  })

  app.get('/usuarios/:usuarioId/pagos', { schema: UsuariosRoutes.listarPagos }, async (req) => {
    const page = pagination(req.query)
    return { ...(await pagos.listar(Number(req.params.usuarioId), { ...page, estado: req.query.estado })), ...page }
  })

  app.get('/usuarios/:usuarioId/pagos/:pagoId', { schema: UsuariosRoutes.obtenerPago }, async (req) =>
    await pagos.obtener(Number(req.params.usuarioId), req.params.pagoId.toLowerCase()))
}

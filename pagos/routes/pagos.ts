import { pagination } from '../../contracts/http/common.js'
import { PagosRoutes } from '../../contracts/http/pagos.js'
import type { App } from '../../lib/http/http-app.js'
import { PagoNoEncontrado } from '../errors.js'
import type { PagosStore } from '../store/pagos-store.js'

export interface StatusSources {
  brokerConnected: () => boolean
  deadLetter: () => Promise<number>
  outboxPendientes: () => Promise<number>
}

export function registerPagosRoutes (app: App, pagos: PagosStore, status: StatusSources): void {
  const startedAt = Date.now()

  app.get('/pagos/status', { schema: PagosRoutes.status }, async () => {
    const { completados, fallidos } = await pagos.contar()
    return {
      mensaje: 'Microservicio de pagos activo' as const,
      status: 'running' as const,
      broker: { conectado: status.brokerConnected() },
      procesados: completados,
      fallidos,
      deadLetter: await status.deadLetter(),
      outboxPendientes: await status.outboxPendientes(),
      uptimeSegundos: Math.round((Date.now() - startedAt) / 1000)
    }
  })

  // Kept from the original: processing is automatic, this only says so.
  app.post('/pagos/procesar', { schema: PagosRoutes.procesar }, async () => ({
    mensaje: 'Microservicio de pagos está procesando mensajes automáticamente' as const
  }))

  app.get('/pagos/:pagoId', { schema: PagosRoutes.obtener }, async (req) => {
    const pago = await pagos.obtener(req.params.pagoId.toLowerCase())
    if (pago === undefined) throw new PagoNoEncontrado()
    return pago
  })

  app.get('/pagos', { schema: PagosRoutes.listar }, async (req) => {
    const page = pagination(req.query)
    const usuarioId = req.query.usuario === undefined ? undefined : Number(req.query.usuario)
    return { ...(await pagos.listar({ ...page, usuarioId, estado: req.query.estado })), ...page }
  })
}

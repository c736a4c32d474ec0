import { pagination } from '../../contracts/http/common.js'
import { PagosApi } from '../../contracts/http/pagos-operations.js'
import type { App } from '../../lib/http/http-app.js'
import { routeOf } from '../../lib/http/operation-route.js'
import { PagoProcesadoNotFoundError } from '../errors.js'
import type { ProcesadosStore } from '../store/procesados-store.js'

/** The figures `GET /pagos/status` shows besides the store's counts. */
export interface StatusSources {
  brokerConnected: () => boolean
  deadLetter: () => Promise<number>
  outboxPendientes: () => Promise<number>
}

/** pagos' routes: status, the original's procesar, and the processed payments (contracts/http/pagos-operations.ts). */
export function registerProcesadosRoutes (app: App, pagos: ProcesadosStore, status: StatusSources): void {
  const startedAt = Date.now()

  app.route({
    ...routeOf(PagosApi.estadoPagos),
    handler: async () => {
      const { completados, fallidos } = await pagos.count()
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
    }
  })

  // Kept from the original: processing is automatic, this only says so.
  app.route({
    ...routeOf(PagosApi.procesarPagos),
    handler: async () => ({ mensaje: 'Microservicio de pagos está procesando mensajes automáticamente' as const })
  })

  app.route({
    ...routeOf(PagosApi.obtenerPagoProcesado),
    handler: async (req) => {
      const pago = await pagos.find(req.params.pagoId.toLowerCase())
      if (pago === undefined) throw new PagoProcesadoNotFoundError()
      return pago
    }
  })

  app.route({
    ...routeOf(PagosApi.listarPagosProcesados),
    handler: async (req) => {
      const page = pagination(req.query)
      const usuarioId = req.query.usuario === undefined ? undefined : Number(req.query.usuario)
      return { ...(await pagos.list({ ...page, usuarioId, estado: req.query.estado })), ...page }
    }
  })
}

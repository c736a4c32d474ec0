import { join } from 'node:path'
import type { Logger } from 'pino'
import { UsuariosOperations } from '../contracts/http/usuarios-operations.js'
import { GATEWAY_DOCS_HINT, SYSTEM_NAME } from '../contracts/system.js'
import type { App } from '../lib/http/http-app.js'
import type { Broker } from '../lib/messaging/broker.js'
import { buildService } from '../lib/service.js'
import type { UsuariosConfig } from './config.js'
import { countPagos, countReembolsos, watchOverdue } from './metrics.js'
import { pagoProcesadoHandler } from './messaging/pago-procesado-handler.js'
import { reembolsoProcesadoHandler } from './messaging/reembolso-procesado-handler.js'
import { startResendSweep } from './resend-sweep.js'
import { registerCuentaPagosRoutes } from './routes/cuenta-pagos.js'
import { registerMovimientosRoutes } from './routes/movimientos.js'
import { registerReembolsosRoutes } from './routes/reembolsos.js'
import { registerUsuariosRoutes } from './routes/usuarios.js'
import { createCuentasStore } from './store/cuentas-store.js'
import { purgeIdempotencyKeys } from './store/idempotency.js'
import { migrations } from './store/migrations.js'
import { createMovimientosStore } from './store/movimientos.js'
import { createCuentaPagosStore } from './store/cuenta-pagos-store.js'
import { createReembolsosStore } from './store/reembolsos-store.js'
import { createResendStore } from './store/resend-store.js'
import type { UsuariosDatabase } from './store/schema.js'

export interface UsuariosAppOptions {
  config: UsuariosConfig
  logger: Logger
  /** Replaces the RabbitMQ broker of the config (tests pass lib/messaging/memory-broker.ts); closed with the app. */
  broker?: Broker
}

const HOUR_MS = 3_600_000

/** Builds usuarios (database migrated and seeded, broker wired); never listens. */
export async function buildUsuariosApp ({ config, logger, broker }: UsuariosAppOptions): Promise<App> {
  return await buildService<UsuariosDatabase, 'usuarios'>({
    name: 'usuarios',
    title: `${SYSTEM_NAME}: usuarios`,
    description: `Usuarios y saldos; acepta los pagos (los debita y los deja pendientes) y aplica su resultado. ${GATEWAY_DOCS_HINT}`,
    operations: UsuariosOperations,
    config,
    logger,
    broker,
    database: {
      url: config.USUARIOS_DATABASE_URL,
      sqliteFile: config.USUARIOS_DB_FILE ?? join(config.DATA_DIR, 'usuarios.sqlite'),
      migrations
    },
    async compose ({ db, transact, notify, broker, metrics }) {
      const cuentas = createCuentasStore(db)
      if (await cuentas.seed()) logger.info('empty database: created Willis and Ana')
      const pagos = countPagos(createCuentaPagosStore(db, notify, transact), metrics.registry)
      const reembolsos = countReembolsos(createReembolsosStore(db, notify, transact), metrics.registry)
      const resendBoundMs = config.PAGO_REENVIO_SEGUNDOS * 1000
      const resends = createResendStore(db, notify, transact)
      const overdue = async (): Promise<number> => await resends.countOverdue(resendBoundMs)
      watchOverdue(metrics.registry, overdue)

      const purge = async (): Promise<void> => {
        const n = await purgeIdempotencyKeys(db, config.IDEMPOTENCY_TTL_HOURS)
        if (n > 0) logger.info({ deleted: n }, 'expired idempotency keys deleted')
      }
      const purgeTimer = setInterval(() => { purge().catch((err) => logger.warn({ err }, 'idempotency purge failed')) }, HOUR_MS).unref()
      let resendSweep: { stop: () => Promise<void> } | undefined

      return {
        handlers: {
          'pago.procesado': pagoProcesadoHandler(pagos, logger),
          'reembolso.procesado': reembolsoProcesadoHandler(reembolsos, logger)
        },
        // Overdue payments do not make usuarios unready: the sweep is already
        // asking pagos again, and taking usuarios out of rotation would only stop
        // new payments without helping the old ones. Alerts read the figure.
        health: async () => ({ pagosPendientesVencidos: await overdue() }),
        routes (app) {
          registerUsuariosRoutes(app, cuentas)
          registerCuentaPagosRoutes(app, pagos, config.PAGO_MONTO_DEFECTO)
          registerMovimientosRoutes(app, createMovimientosStore(db))
          registerReembolsosRoutes(app, reembolsos)
        },
        async start () {
          await purge()
          resendSweep = startResendSweep({ store: resends, boundMs: resendBoundMs, brokerConnected: broker.isConnected, logger })
        },
        async stop () {
          clearInterval(purgeTimer)
          await resendSweep?.stop()
        }
      }
    }
  })
}

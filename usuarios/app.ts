import { join } from 'node:path'
import type { Logger } from 'pino'
import { UsuariosOperations } from '../contracts/http/api.js'
import { GATEWAY_DOCS_HINT, SYSTEM_NAME } from '../contracts/system.js'
import type { App } from '../lib/http/http-app.js'
import type { Broker } from '../lib/messaging/broker.js'
import { buildService } from '../lib/service.js'
import type { UsuariosConfig } from './config.js'
import { countPagos, watchVencidos } from './metrics.js'
import { pagoProcesadoHandler } from './messaging/pago-procesado-handler.js'
import { startReenvio } from './reenvio.js'
import { registerPagosRoutes } from './routes/pagos.js'
import { registerUsuariosRoutes } from './routes/usuarios.js'
import { createCuentasStore } from './store/cuentas-store.js'
import { purgeIdempotencyKeys } from './store/idempotency.js'
import { migrations } from './store/migrations.js'
import { createPagosStore } from './store/pagos-store.js'
import { createReenvioStore } from './store/reenvio-store.js'
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
  return await buildService<UsuariosDatabase, 'pago.procesado'>({
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
      const pagos = countPagos(createPagosStore(db, notify, transact), metrics.registry)
      const reenvioLimiteMs = config.PAGO_REENVIO_SEGUNDOS * 1000
      const reenvios = createReenvioStore(db, notify, transact)
      const vencidos = async (): Promise<number> => await reenvios.contarVencidos(reenvioLimiteMs)
      watchVencidos(metrics.registry, vencidos)

      const purge = async (): Promise<void> => {
        const n = await purgeIdempotencyKeys(db, config.IDEMPOTENCY_TTL_HOURS)
        if (n > 0) logger.info({ deleted: n }, 'expired idempotency keys deleted')
      }
      const purgeTimer = setInterval(() => { purge().catch((err) => logger.warn({ err }, 'idempotency purge failed')) }, HOUR_MS).unref()
      let reenvio: { stop: () => Promise<void> } | undefined

      return {
        handler: pagoProcesadoHandler(pagos, logger),
        // Overdue payments do not make usuarios unready: the sweep is already
        // asking pagos again, and taking usuarios out of rotation would only stop
        // new payments without helping the old ones. Alerts read the figure.
        health: async () => ({ pagosPendientesVencidos: await vencidos() }),
        routes (app) {
          registerUsuariosRoutes(app, cuentas)
          registerPagosRoutes(app, pagos, config.PAGO_MONTO_DEFECTO)
        },
        async start () {
          await purge()
          reenvio = startReenvio({ store: reenvios, limiteMs: reenvioLimiteMs, brokerConnected: broker.isConnected, logger })
        },
        async stop () {
          clearInterval(purgeTimer)
          await reenvio?.stop()
        }
      }
    }
  })
}

import { join } from 'node:path'
import type { Logger } from 'pino'
import { PagosOperations } from '../contracts/http/pagos-operations.js'
import { toCentimos } from '../contracts/money.js'
import { GATEWAY_DOCS_HINT, SYSTEM_NAME } from '../contracts/system.js'
import type { App } from '../lib/http/http-app.js'
import type { Broker } from '../lib/messaging/broker.js'
import { buildService } from '../lib/service.js'
import type { PagosConfig } from './config.js'
import { countProcesados, countReembolsos } from './metrics.js'
import { pagoSolicitadoHandler } from './messaging/pago-solicitado-handler.js'
import { reembolsoSolicitadoHandler } from './messaging/reembolso-solicitado-handler.js'
import { createProcesadorSimulado, type Procesador, type Reembolsador } from './processor.js'
import { registerProcesadosRoutes } from './routes/procesados.js'
import { migrations } from './store/migrations.js'
import { createProcesadosStore } from './store/procesados-store.js'
import { createReembolsosStore } from './store/reembolsos-store.js'
import type { PagosDatabase } from './store/schema.js'

export interface PagosAppOptions {
  config: PagosConfig
  logger: Logger
  /** Replaces the RabbitMQ broker of the config (tests pass lib/messaging/memory-broker.ts); closed with the app. */
  broker?: Broker
  /** Replaces the configured processor (tests). */
  procesador?: Procesador
  /** Replaces the configured provider's refunds (tests); default: the simulated provider's. */
  reembolsador?: Reembolsador
}

/** Builds pagos (database migrated, consumer and relay wired); never listens. */
export async function buildPagosApp ({ config, logger, broker, procesador, reembolsador }: PagosAppOptions): Promise<App> {
  return await buildService<PagosDatabase, 'pagos'>({
    name: 'pagos',
    title: `${SYSTEM_NAME}: pagos`,
    description: `Procesa los pagos que usuarios acepta, con un proveedor enchufable, y publica su resultado. ${GATEWAY_DOCS_HINT}`,
    operations: PagosOperations,
    config,
    logger,
    broker,
    database: {
      url: config.PAGOS_DATABASE_URL,
      sqliteFile: config.PAGOS_DB_FILE ?? join(config.DATA_DIR, 'pagos.sqlite'),
      migrations
    },
    async compose ({ db, transact, notify, broker, metrics, backlog, deadLetter }) {
      const pagos = countProcesados(createProcesadosStore(db, notify, transact), metrics.registry)
      const reembolsos = countReembolsos(createReembolsosStore(db, notify, transact), metrics.registry)
      const simulado = createProcesadorSimulado({
        latenciaMs: config.PROCESADOR_LATENCIA_MS,
        tasaFallo: config.PROCESADOR_TASA_FALLO,
        limiteCentimos: toCentimos(config.PROCESADOR_LIMITE),
        semilla: config.PROCESADOR_SEMILLA
      })
      return {
        handlers: {
          'pago.solicitado': pagoSolicitadoHandler(pagos, procesador ?? simulado, logger),
          'reembolso.solicitado': reembolsoSolicitadoHandler(reembolsos, reembolsador ?? simulado, logger)
        },
        routes (app) {
          registerProcesadosRoutes(app, pagos, { brokerConnected: broker.isConnected, deadLetter, outboxPendientes: backlog })
        }
      }
    }
  })
}

import { join } from 'node:path'
import { sql, type Kysely } from 'kysely'
import type { Logger } from 'pino'
import { createBrokerFromConfig, type Broker } from '../lib/messaging/broker.js'
import { registerHealthRoutes } from '../lib/http/health.js'
import { createHttpApp, type App } from '../lib/http/http-app.js'
import { watchMessaging } from '../lib/observability/metrics.js'
import { observe } from '../lib/observability/observe.js'
import { PagosOperations } from '../contracts/http/pagos-operations.js'
import { openMigrated, outboxClaim } from '../lib/storage/db.js'
import { createTransact, type Transact } from '../lib/storage/group-commit.js'
import { createOutboxRelay, type OutboxDatabase, type OutboxRelay } from '../lib/messaging/outbox-relay.js'
import { toCentimos } from '../contracts/money.js'
import type { PagosConfig } from './config.js'
import { countProcesados } from './metrics.js'
import { pagoSolicitadoHandler } from './messaging/pago-solicitado-handler.js'
import { createProcesadorSimulado, type Procesador } from './processor.js'
import { registerProcesadosRoutes } from './routes/procesados.js'
import { migrations } from './store/migrations.js'
import { createProcesadosStore } from './store/procesados-store.js'
import type { PagosDatabase } from './store/schema.js'

export interface PagosAppOptions {
  config: PagosConfig
  logger: Logger
  /** false: no broker, no relay, no consumer (route tests). */
  messaging?: boolean
  /** Replaces the configured processor (tests). */
  procesador?: Procesador
}

/** Builds pagos (database migrated, consumer and relay wired); never listens. */
export async function buildPagosApp ({ config, logger, messaging = true, procesador }: PagosAppOptions): Promise<App> {
  const app = createHttpApp(logger)
  const metrics = await observe(app, 'pagos', PagosOperations, config.AMQP_PREFIX)
  const db = await openMigrated<PagosDatabase>({
    url: config.PAGOS_DATABASE_URL,
    sqliteFile: config.PAGOS_DB_FILE ?? join(config.DATA_DIR, 'pagos.sqlite'),
    synchronous: config.SQLITE_SYNCHRONOUS,
    poolMax: config.DATABASE_POOL_MAX,
    name: 'pagos',
    logger
  }, migrations)

  let broker: Broker | undefined
  let relay: OutboxRelay | undefined
  // One group commit per database: payment writes and the relay's deletes of a turn share an fsync.
  const transact = createTransact(db)
  const pagos = countProcesados(createProcesadosStore(db, () => relay?.notify(), transact), metrics.registry)
  if (messaging) {
    const proc = procesador ?? createProcesadorSimulado({
      latenciaMs: config.PROCESADOR_LATENCIA_MS,
      tasaFallo: config.PROCESADOR_TASA_FALLO,
      limiteCentimos: toCentimos(config.PROCESADOR_LIMITE),
      semilla: config.PROCESADOR_SEMILLA
    })
    broker = createBrokerFromConfig(config, 'pagos', logger, metrics.broker)
    relay = createOutboxRelay({ db: db as unknown as Kysely<OutboxDatabase>, broker, logger, batch: config.OUTBOX_BATCH, pollMs: config.OUTBOX_POLL_MS, claim: outboxClaim(db), transact: transact as unknown as Transact<OutboxDatabase> })
    broker.consume('pagos', pagoSolicitadoHandler(pagos, proc, logger))
  }
  watchMessaging(metrics, { db, broker })

  const backlog = async (): Promise<number> => relay === undefined ? 0 : await relay.backlog()
  const deadLetter = async (): Promise<number> => await broker?.deadLetterCount('pagos') ?? 0
  registerHealthRoutes(app, {
    servicio: 'pagos',
    database: async () => { await sql`select 1`.execute(db) },
    brokerConnected: broker?.isConnected,
    extra: async () => ({ outboxPendientes: await backlog(), deadLetter: await deadLetter() })
  })
  registerProcesadosRoutes(app, pagos, {
    brokerConnected: () => broker?.isConnected() ?? false,
    deadLetter,
    outboxPendientes: backlog
  })

  app.addHook('onReady', async () => { relay?.start() })
  app.addHook('onClose', async () => {
    await broker?.stopConsuming()
    await relay?.stop()
    await broker?.close()
    await db.destroy()
  })
  return app
}

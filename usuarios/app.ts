import { join } from 'node:path'
import { sql, type Kysely } from 'kysely'
import type { Logger } from 'pino'
import { createBrokerFromConfig, type Broker } from '../lib/messaging/broker.js'
import { registerHealthRoutes } from '../lib/http/health.js'
import { createHttpApp, type App } from '../lib/http/http-app.js'
import { watchMessaging } from '../lib/observability/metrics.js'
import { observe } from '../lib/observability/observe.js'
import { UsuariosOperations } from '../contracts/http/usuarios-operations.js'
import { openMigrated, outboxClaim } from '../lib/storage/db.js'
import { createTransact, type Transact } from '../lib/storage/group-commit.js'
import { createOutboxRelay, type OutboxDatabase, type OutboxRelay } from '../lib/messaging/outbox-relay.js'
import type { UsuariosConfig } from './config.js'
import { countPagos, watchOverdue } from './metrics.js'
import { pagoProcesadoHandler } from './messaging/pago-procesado-handler.js'
import { startResendSweep } from './resend-sweep.js'
import { registerCuentaPagosRoutes } from './routes/cuenta-pagos.js'
import { registerUsuariosRoutes } from './routes/usuarios.js'
import { createCuentaPagosStore } from './store/cuenta-pagos-store.js'
import { createCuentasStore } from './store/cuentas-store.js'
import { purgeIdempotencyKeys } from './store/idempotency.js'
import { migrations } from './store/migrations.js'
import { createResendStore } from './store/resend-store.js'
import type { UsuariosDatabase } from './store/schema.js'

export interface UsuariosAppOptions {
  config: UsuariosConfig
  logger: Logger
  /** false: no broker, no relay, no consumer (route tests). */
  messaging?: boolean
}

const HOUR_MS = 3_600_000

/** Builds usuarios (database migrated and seeded, broker wired); never listens. */
export async function buildUsuariosApp ({ config, logger, messaging = true }: UsuariosAppOptions): Promise<App> {
  const app = createHttpApp(logger)
  const metrics = await observe(app, 'usuarios', UsuariosOperations, config.AMQP_PREFIX)
  const db = await openMigrated<UsuariosDatabase>({
    url: config.USUARIOS_DATABASE_URL,
    sqliteFile: config.USUARIOS_DB_FILE ?? join(config.DATA_DIR, 'usuarios.sqlite'),
    synchronous: config.SQLITE_SYNCHRONOUS,
    poolMax: config.DATABASE_POOL_MAX,
    name: 'usuarios',
    logger
  }, migrations)
  const cuentas = createCuentasStore(db)
  if (await cuentas.seed()) logger.info('empty database: created Willis and Ana')

  let broker: Broker | undefined
  let relay: OutboxRelay | undefined
  // One group commit per database: payment writes and the relay's deletes of a turn share an fsync.
  const transact = createTransact(db)
  const pagos = countPagos(createCuentaPagosStore(db, () => relay?.notify(), transact), metrics.registry)
  if (messaging) {
    broker = createBrokerFromConfig(config, 'usuarios', logger, metrics.broker)
    relay = createOutboxRelay({ db: db as unknown as Kysely<OutboxDatabase>, broker, logger, batch: config.OUTBOX_BATCH, pollMs: config.OUTBOX_POLL_MS, claim: outboxClaim(db), transact: transact as unknown as Transact<OutboxDatabase> })
    broker.consume('usuarios', pagoProcesadoHandler(pagos, logger))
  }
  watchMessaging(metrics, { db, broker })
  const reenvioLimiteMs = config.PAGO_REENVIO_SEGUNDOS * 1000
  const reenvios = createResendStore(db, () => relay?.notify(), transact)
  const vencidos = async (): Promise<number> => await reenvios.countOverdue(reenvioLimiteMs)
  watchOverdue(metrics.registry, vencidos)

  registerHealthRoutes(app, {
    servicio: 'usuarios',
    database: async () => { await sql`select 1`.execute(db) },
    brokerConnected: broker?.isConnected,
    // Overdue payments do not make usuarios unready: the sweep is already
    // asking pagos again, and taking usuarios out of rotation would only stop
    // new payments without helping the old ones. Alerts read the figure.
    extra: async () => ({
      outboxPendientes: relay === undefined ? 0 : await relay.backlog(),
      deadLetter: await broker?.deadLetterCount('usuarios') ?? 0,
      pagosPendientesVencidos: await vencidos()
    })
  })
  registerUsuariosRoutes(app, cuentas)
  registerCuentaPagosRoutes(app, pagos, config.PAGO_MONTO_DEFECTO)

  const purge = async (): Promise<void> => {
    const n = await purgeIdempotencyKeys(db, config.IDEMPOTENCY_TTL_HOURS)
    if (n > 0) logger.info({ deleted: n }, 'expired idempotency keys deleted')
  }
  const purgeTimer = setInterval(() => { purge().catch((err) => logger.warn({ err }, 'idempotency purge failed')) }, HOUR_MS).unref()

  let reenvio: { stop: () => Promise<void> } | undefined
  app.addHook('onReady', async () => {
    await purge()
    relay?.start()
    if (broker !== undefined) reenvio = startResendSweep({ store: reenvios, boundMs: reenvioLimiteMs, brokerConnected: broker.isConnected, logger })
  })
  // Order: stop taking messages (in-flight ones finish), publish what is left
  // in the current batch, close the broker connection, then the database.
  app.addHook('onClose', async () => {
    clearInterval(purgeTimer)
    await reenvio?.stop()
    await broker?.stopConsuming()
    await relay?.stop()
    await broker?.close()
    await db.destroy()
  })
  return app
}

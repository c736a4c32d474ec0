import { sql, type DrainOuterGeneric, type Kysely, type Migration } from 'kysely'
import type { Logger } from 'pino'
import type { Operation } from '../contracts/http/api.js'
import type { MessageName } from '../contracts/messages.js'
import type { ConsumerName, SubscribedBy } from '../contracts/topology.js'
import { registerHealthRoutes } from './http/health.js'
import { createHttpApp, type App } from './http/http-app.js'
import { createBrokerFromConfig, type Broker } from './messaging/broker.js'
import { dispatch, type Handlers } from './messaging/delivery.js'
import { createOutboxRelay, type OutboxDatabase } from './messaging/outbox-relay.js'
import { watchMessaging, type Metrics } from './observability/metrics.js'
import { observe } from './observability/observe.js'
import type { MessagingServiceConfig } from './process/env-schema.js'
import { dialectOf, openMigrated } from './storage/db.js'
import { createTransact, type Transact } from './storage/group-commit.js'
import { outboxClaim } from './storage/outbox-claim.js'

/*
 * One way to build a service that owns a database and talks over the
 * broker: database (migrated), group commit, outbox relay, broker, health
 * routes, metrics and the order of start and shutdown are wired here once.
 * A service's app.ts says only what is its own (compose).
 */

/** A database's tables by name (an interface as Kysely takes it). */
export type TableMap<DB> = { [T in keyof DB]: Record<string, any> }
/** The same tables as a type literal, which Kysely.withTables accepts (an interface has no index signature). */
type Tables<DB> = { [T in keyof DB & string]: DB[T] }

/** A service's tables plus the outbox table every service has (lib/messaging/outbox-relay.ts). */
export type WithOutbox<DB> = DrainOuterGeneric<OutboxDatabase & Tables<DB>>

/** What the shared wiring hands a service's compose function. */
export interface ServiceParts<DB> {
  app: App
  db: Kysely<WithOutbox<DB>>
  /** The database's one group commit: stores and the relay's deletes share it. */
  transact: Transact<WithOutbox<DB>>
  /** Wakes the outbox relay; a store calls it after committing outbox rows. */
  notify: () => void
  broker: Broker
  metrics: Metrics
  logger: Logger
  /** Outbox rows not yet published (confirmed). */
  backlog: () => Promise<number>
  /** Messages waiting in the service's dead-letter queue. */
  deadLetter: () => Promise<number>
}

/** What only the service knows. */
export interface ServiceOwn<N extends MessageName> {
  /** One per message of the service's queue (contracts/topology.ts Subscriptions), by message name. */
  handlers: Handlers<N>
  /** More figures for /health/ready, after outboxPendientes and deadLetter; they never make it unready. */
  health?: () => Promise<Record<string, unknown>>
  /** Declares the service's routes (after the health routes). */
  routes: (app: App) => void
  /** Runs when the app is ready, before the relay starts (e.g. a first purge, timers). */
  start?: () => Promise<void>
  /** Runs first on close, while the broker still consumes (e.g. timers and sweeps). */
  stop?: () => Promise<void>
}

export interface ServiceOptions<DB extends TableMap<DB>, C extends ConsumerName> {
  /** The service's name: its queue, metrics label, log file, AMQP connection and PostgreSQL application_name. */
  name: C
  /** OpenAPI title and description. */
  title: string
  description: string
  operations: Operation[]
  config: MessagingServiceConfig
  logger: Logger
  database: {
    /** A `postgres://` URL, or undefined for the SQLite file. */
    url: string | undefined
    sqliteFile: string
    migrations: Record<string, Migration>
  }
  /** The broker to use (tests pass lib/messaging/memory-broker.ts); default: RabbitMQ from config. Closed with the app. */
  broker?: Broker
  /** Builds the service's own parts (stores, handler, routes) on the shared ones. */
  compose: (parts: ServiceParts<DB>) => Promise<ServiceOwn<SubscribedBy<C>>>
}

/**
 * Builds a service's app; never listens. Shutdown order (onClose): the
 * service's own stop, stop consuming (in-flight handlers finish), the relay
 * publishes what is left of its batch, the broker closes, then the database.
 * Errors: whatever opening or migrating the database raises.
 */
export async function buildService<DB extends TableMap<DB>, C extends ConsumerName> (opts: ServiceOptions<DB, C>): Promise<App> {
  const { config, logger, name } = opts
  const app = createHttpApp(logger)
  const metrics = await observe(app, { service: name, title: opts.title, description: opts.description, operations: opts.operations, amqpPrefix: config.AMQP_PREFIX })
  // The relay sees the outbox table; the service sees its own tables on the
  // same connection (withTables shares the driver).
  const outbox = await openMigrated<OutboxDatabase>({
    url: opts.database.url,
    sqliteFile: opts.database.sqliteFile,
    synchronous: config.SQLITE_SYNCHRONOUS,
    poolMax: config.DATABASE_POOL_MAX,
    name,
    logger
  }, opts.database.migrations)
  const db = outbox.withTables<Tables<DB>>()
  // One group commit per database: payment writes and the relay's deletes of a turn share an fsync.
  const outboxTransact = createTransact(outbox)
  const transact: Transact<WithOutbox<DB>> = async (work) => await outboxTransact(async (trx) => await work(trx.withTables<Tables<DB>>()))
  const broker = opts.broker ?? createBrokerFromConfig(config, name, logger, metrics.broker)
  const relay = createOutboxRelay({ db: outbox, broker, logger, batch: config.OUTBOX_BATCH, pollMs: config.OUTBOX_POLL_MS, lingerMs: dialectOf(outbox) === 'postgres' ? config.OUTBOX_LINGER_MS : 0, claim: outboxClaim(outbox, outboxTransact) })
  const backlog = relay.backlog
  const deadLetter = async (): Promise<number> => await broker.deadLetterCount(name)

  const own = await opts.compose({ app, db, transact, notify: relay.notify, broker, metrics, logger, backlog, deadLetter })
  broker.consume(name, dispatch(own.handlers))
  watchMessaging(metrics, { db, broker })
  registerHealthRoutes(app, {
    servicio: name,
    database: async () => { await sql`select 1`.execute(db) },
    brokerConnected: broker.isConnected,
    extra: async () => ({ outboxPendientes: await backlog(), deadLetter: await deadLetter(), ...await own.health?.() })
  })
  own.routes(app)

  app.addHook('onReady', async () => {
    await own.start?.()
    relay.start()
  })
  app.addHook('onClose', async () => {
    await own.stop?.()
    await broker.stopConsuming()
    await relay.stop()
    await broker.close()
    await db.destroy()
  })
  return app
}

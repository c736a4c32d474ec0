import { Type, type Static } from 'typebox'

/*
 * Env vars shared by every service; each service adds its own in its
 * config.ts. Config types derive from these schemas (Static<>), never
 * restated by hand.
 */

/** The broker a service reaches unless AMQP_URL says otherwise (RabbitMQ's guest account on this host). */
export const DEFAULT_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672'
/** The prefix of every exchange and queue unless AMQP_PREFIX says otherwise. */
export const DEFAULT_AMQP_PREFIX = 'pagos'

export const Port = (port: number) => Type.Integer({ minimum: 0, maximum: 65535, default: port })

export const CommonEnv = {
  HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  LOG_DIR: Type.String({ minLength: 1, default: 'logs' }),
  // Spelled out, not mapped from a list: a mapped union's Static<> is never.
  LOG_LEVEL: Type.Union([Type.Literal('fatal'), Type.Literal('error'), Type.Literal('warn'), Type.Literal('info'), Type.Literal('debug'), Type.Literal('trace'), Type.Literal('silent')], { default: 'info' }),
  /** auto: pretty output when stdout is a terminal, nothing otherwise. */
  LOG_STDOUT: Type.Union([Type.Literal('auto'), Type.Literal('pretty'), Type.Literal('json'), Type.Literal('off')], { default: 'auto' }),
  SHUTDOWN_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 10_000 })
}
const { LOG_DIR, LOG_LEVEL, LOG_STDOUT, SHUTDOWN_TIMEOUT_MS } = CommonEnv
/** What lib/process/server.ts needs of every service's config (the gateway's too, which has no HOST). */
export const ProcessEnvSchema = Type.Object({ LOG_DIR, LOG_LEVEL, LOG_STDOUT, SHUTDOWN_TIMEOUT_MS })
export type ProcessEnvConfig = Static<typeof ProcessEnvSchema>

export const BrokerEnv = {
  AMQP_URL: Type.String({ pattern: '^amqps?://', default: DEFAULT_AMQP_URL }),
  /** Every exchange and queue name starts with it (see contracts/topology.ts). */
  AMQP_PREFIX: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,100}$', default: DEFAULT_AMQP_PREFIX }),
  AMQP_PREFETCH: Type.Integer({ minimum: 1, maximum: 10_000, default: 100 }),
  /** Deliveries of a message that keeps failing for a transient reason before it is dead-lettered. */
  AMQP_MAX_INTENTOS: Type.Integer({ minimum: 1, maximum: 100, default: 5 }),
  /** First retry delay; it doubles on each attempt. */
  AMQP_RETRY_DELAY_MS: Type.Integer({ minimum: 10, maximum: 60_000, default: 1000 }),
  OUTBOX_BATCH: Type.Integer({ minimum: 1, maximum: 10_000, default: 200 }),
  OUTBOX_POLL_MS: Type.Integer({ minimum: 10, maximum: 60_000, default: 1000 }),
  /** PostgreSQL only: under load a relay claims at most once per this many ms (lib/messaging/outbox-relay.ts lingerMs); 0 claims on every commit, as on SQLite. */
  OUTBOX_LINGER_MS: Type.Integer({ minimum: 0, maximum: 10_000, default: 40 })
}
export const BrokerEnvSchema = Type.Object(BrokerEnv)
/** The broker and outbox settings (AMQP_*, OUTBOX_*), as read from the env. */
export type BrokerEnvConfig = Static<typeof BrokerEnvSchema>

export const SqliteEnv = {
  /** FULL survives power loss; NORMAL (WAL) survives a process crash. */
  SQLITE_SYNCHRONOUS: Type.Union([Type.Literal('FULL'), Type.Literal('NORMAL')], { default: 'FULL' })
}

/** PostgreSQL instead of the service's SQLite file; several instances may share it. */
export const DatabaseUrl = Type.String({ pattern: '^postgres(ql)?://[^\\s]+$' })

export const DatabaseEnv = {
  /** Connections each instance keeps to PostgreSQL (unused on SQLite). */
  DATABASE_POOL_MAX: Type.Integer({ minimum: 1, maximum: 1000, default: 10 })
}

/** What lib/service.ts needs of a service's config: broker, outbox and database settings. */
export const MessagingServiceEnvSchema = Type.Object({ ...BrokerEnv, ...SqliteEnv, ...DatabaseEnv })
export type MessagingServiceConfig = Static<typeof MessagingServiceEnvSchema>

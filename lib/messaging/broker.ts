import type { Logger } from 'pino'
import type { MessageName } from '../../contracts/messages.js'
import { topology, type ConsumerName, type SubscribedBy, type Topology } from '../../contracts/topology.js'
import type { BrokerEnvConfig } from '../process/env-schema.js'
import { openAmqpConnection } from './amqp-connection.js'
import { createAmqpConsumers } from './amqp-consumer.js'
import { createCheckedPublisher } from './amqp-publisher.js'
import { declarations } from './amqp-topology.js'
import type { BrokerMetrics, Envelope, Handler } from './delivery.js'

/*
 * The broker as services see it. Two implementations: RabbitMQ here
 * (connection, topology, publisher and consumers in the amqp-*.ts files) and
 * memory-broker.ts for tests; test/helpers/broker-contract.ts holds both to
 * the same behaviour.
 */

export interface Broker {
  readonly topology: Topology
  isConnected: () => boolean
  /**
   * Persistent, mandatory, confirmed publish of a raw JSON body, routed by
   * its name (contracts/topology.ts). Rejects with UnroutableError if no
   * queue takes it, or with the transport's error if the broker is away.
   */
  publishRaw: (name: MessageName, json: string, envelope: Envelope) => Promise<void>
  /**
   * Hands each message of the consumer's queue (any of the messages it
   * subscribes to, each checked against its own contract) to `handler`: an answer is
   * acked or dead-lettered; a throw is retried with a growing delay until
   * maxAttempts, then dead-lettered (lib/messaging/retry-policy.ts). A body
   * that fails its contract is dead-lettered without reaching the handler.
   */
  consume: <C extends ConsumerName>(consumer: C, handler: Handler<SubscribedBy<C>>) => void
  /**
   * Messages waiting in a consumer's dead-letter queue: the queue's depth
   * (it survives restarts), the last depth seen while the broker is away.
   */
  deadLetterCount: (consumer: ConsumerName) => Promise<number>
  /** Called on every (re)connection. */
  onConnect: (listener: () => void) => void
  /** Stops taking messages; in-flight handlers finish and are acked. */
  stopConsuming: () => Promise<void>
  /** Closes consumers (if still open), the publisher, then the connection. */
  close: () => Promise<void>
}

export interface BrokerOptions {
  url: string
  /** Every exchange and queue name starts with it (AMQP_PREFIX). */
  prefix: string
  prefetch: number
  /** Deliveries of one message before a transient failure becomes a dead letter. */
  maxAttempts: number
  /** Delay before the first retry, in ms; doubles on each attempt (capped at 60 s). */
  retryDelayMs: number
  /** The service's name, shown as `<prefix>:<name>` in the RabbitMQ management UI and `rabbitmqctl list_connections`. */
  connectionName: string
  logger: Logger
  /** Optional counters (lib/observability/metrics.ts implements them with prom-client). */
  metrics?: BrokerMetrics
}

/** The broker of a service's env (AMQP_* of lib/process/env-schema.ts BrokerEnv). */
export function createBrokerFromConfig (config: BrokerEnvConfig, connectionName: string, logger: Logger, metrics?: BrokerMetrics): Broker {
  return createBroker({
    url: config.AMQP_URL,
    prefix: config.AMQP_PREFIX,
    prefetch: config.AMQP_PREFETCH,
    maxAttempts: config.AMQP_MAX_INTENTOS,
    retryDelayMs: config.AMQP_RETRY_DELAY_MS,
    connectionName,
    logger,
    metrics
  })
}

/** The RabbitMQ broker: connects (and reconnects) at once, in the background. */
export function createBroker (opts: BrokerOptions): Broker {
  const log = opts.logger.child({ component: 'amqp' })
  const t = topology(opts.prefix)
  const decl = declarations(t)
  const amqp = openAmqpConnection({ url: opts.url, name: `${opts.prefix}:${opts.connectionName}`, declarations: decl, log })
  const publisher = createCheckedPublisher(amqp.connection, decl, log)
  const consumers = createAmqpConsumers({
    connection: amqp.connection,
    isConnected: amqp.isConnected,
    publisher,
    topology: t,
    declarations: decl,
    prefetch: opts.prefetch,
    policy: opts,
    metrics: opts.metrics,
    log
  })

  return {
    topology: t,
    isConnected: amqp.isConnected,
    async publishRaw (name, json, envelope) {
      await publisher.send({
        exchange: t.exchange,
        routingKey: name,
        messageId: envelope.messageId,
        correlationId: envelope.correlationId ?? undefined,
        type: name,
        contentType: 'application/json',
        timestamp: Math.floor(Date.now() / 1000)
      }, Buffer.from(json))
      opts.metrics?.published(name)
    },
    consume: consumers.consume,
    deadLetterCount: consumers.deadLetterCount,
    onConnect: amqp.onConnect,
    stopConsuming: consumers.stop,
    async close () {
      await consumers.stop()
      await publisher.close()
      await amqp.close()
    }
  }
}

import { Connection, ConsumerStatus, type AsyncMessage, type Consumer, type Publisher } from 'rabbitmq-client'
import type { Logger } from 'pino'
import { decodeMessage, type MessageName, type MessageOf } from '../../contracts/messages.js'
import { Subscriptions, topology, type ConsumerName, type QueueTopology, type Topology } from '../../contracts/topology.js'
import { parseAmqpUrl } from './amqp-url.js'

export interface BrokerOptions {
  url: string
  prefix: string
  prefetch: number
  /** Deliveries of one message before a transient failure becomes a dead letter. */
  maxAttempts: number
  /** Delay before the first retry; doubles on each attempt (capped at 60 s). */
  retryDelayMs: number
  /** Shown in the RabbitMQ management UI and `rabbitmqctl list_connections`. */
  connectionName: string
  logger: Logger
  /** Optional counters (lib/observability/metrics.ts implements them with prom-client). */
  metrics?: BrokerMetrics
}

/** Why a message went to a dead-letter queue: it failed its contract, the handler refused it, or retries ran out. */
export type DeadLetterCause = 'invalid' | 'rejected' | 'exhausted'

/** Hooks the broker calls as messages move; it never imports a metrics library itself. */
export interface BrokerMetrics {
  published: (name: MessageName) => void
  /** A delivery taken from a work queue and settled (whatever its outcome). */
  consumed: (name: MessageName) => void
  retried: (name: MessageName) => void
  deadLettered: (name: MessageName, cause: DeadLetterCause) => void
}

export interface Envelope {
  messageId: string
  correlationId?: string | null
}

export interface Delivery<N extends MessageName> {
  message: MessageOf<N>
  messageId: string | undefined
  correlationId: string | undefined
  /** 1 on the first delivery, counted by us across retries. */
  attempt: number
}

/** What a handler decides; it never sees AMQP. Throwing means "try again later". */
export type HandlerResult = { ack: true } | { deadLetter: string }
export type Handler<N extends MessageName> = (delivery: Delivery<N>) => Promise<HandlerResult>

/** The consumer's own attempt count; newer RabbitMQ releases do not count nacks. */
export const ATTEMPTS_HEADER = 'x-intentos'
/** Why a message is in a dead-letter queue. */
export const REASON_HEADER = 'x-motivo'
/** Safety net: a quorum queue dead-letters a message delivered this many times (e.g. one that kills the process). */
const DELIVERY_LIMIT = 20
const MAX_RETRY_DELAY_MS = 60_000

export class UnroutableError extends Error {
  override name = 'UnroutableError'
}

export interface Broker {
  readonly topology: Topology
  isConnected: () => boolean
  /** Persistent, mandatory, confirmed publish of a raw JSON body; rejects if unroutable. */
  publishRaw: (name: MessageName, json: string, envelope: Envelope) => Promise<void>
  consume: <N extends MessageName>(consumer: ConsumerName, handler: Handler<N & typeof Subscriptions[typeof consumer]>) => void
  /** Messages this process sent to a dead-letter queue since it started. */
  deadLettered: () => number
  /**
   * Messages waiting in a consumer's dead-letter queue: the queue's depth
   * (it survives restarts), the last depth seen while the broker is away.
   */
  deadLetterCount: (consumer: ConsumerName) => Promise<number>
  onConnect: (listener: () => void) => void
  /** Stops taking messages; in-flight handlers finish and are acked. */
  stopConsuming: () => Promise<void>
  /** Closes consumers (if still open), the publisher, then the connection. */
  close: () => Promise<void>
}

/** Every exchange, queue and binding of the system, declared by every service. */
export function declarations (t: Topology) {
  const exchanges = [
    { exchange: t.exchange, type: 'topic' as const, durable: true },
    { exchange: t.deadLetterExchange, type: 'direct' as const, durable: true }
  ]
  const queues = Object.values(t.queues).flatMap((q) => [
    {
      queue: q.queue,
      durable: true,
      arguments: {
        'x-queue-type': 'quorum' as const,
        'x-dead-letter-exchange': t.deadLetterExchange,
        'x-dead-letter-routing-key': q.deadLetterQueue,
        'x-delivery-limit': DELIVERY_LIMIT
      }
    },
    {
      // A message waits here for its own TTL (`expiration`), then goes back to the work queue.
      queue: q.retryQueue,
      durable: true,
      arguments: {
        'x-queue-type': 'quorum' as const,
        'x-dead-letter-exchange': '',
        'x-dead-letter-routing-key': q.queue,
        'x-dead-letter-strategy': 'at-least-once',
        'x-overflow': 'reject-publish' as const
      }
    },
    { queue: q.deadLetterQueue, durable: true, arguments: { 'x-queue-type': 'quorum' as const } }
  ])
  const queueBindings = Object.values(t.queues).flatMap((q) => [
    { exchange: t.exchange, queue: q.queue, routingKey: q.routingKey },
    { exchange: t.deadLetterExchange, queue: q.deadLetterQueue, routingKey: q.deadLetterQueue }
  ])
  return { exchanges, queues, queueBindings }
}

/**
 * The message's bytes as they were sent. rabbitmq-client parses JSON bodies;
 * a JSON body that was itself a string must not be parsed a second time.
 */
export function rawBody (msg: { body: unknown, contentType?: string }): Buffer {
  if (Buffer.isBuffer(msg.body)) return msg.body
  if (typeof msg.body === 'string' && msg.contentType !== 'application/json') return Buffer.from(msg.body)
  return Buffer.from(JSON.stringify(msg.body))
}

function attemptsOf (msg: AsyncMessage): number {
  const n = Number(msg.headers?.[ATTEMPTS_HEADER] ?? 0)
  return Number.isSafeInteger(n) && n > 0 ? n : 0
}

/** The broker settings every service reads from its env (see lib/process/env-schema.ts BrokerEnv). */
export interface BrokerEnvConfig {
  AMQP_URL: string
  AMQP_PREFIX: string
  AMQP_PREFETCH: number
  AMQP_MAX_INTENTOS: number
  AMQP_RETRY_DELAY_MS: number
}

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

export function createBroker (opts: BrokerOptions): Broker {
  const log = opts.logger.child({ component: 'amqp' })
  const t = topology(opts.prefix)
  const decl = declarations(t)
  const connection = new Connection({
    ...parseAmqpUrl(opts.url),
    connectionName: `${opts.prefix}:${opts.connectionName}`,
    noDelay: true,
    retryLow: 200,
    retryHigh: 5000,
    connectionTimeout: 5000,
    acquireTimeout: 5000
  })
  let connected = false
  let deadLettered = 0
  const connectListeners: Array<() => void> = []
  // The whole topology (retry and dead-letter queues included) exists as soon
  // as a service connects, not only after its first publish.
  const declareAll = async (): Promise<void> => {
    for (const e of decl.exchanges) await connection.exchangeDeclare(e)
    for (const q of decl.queues) await connection.queueDeclare(q)
    for (const b of decl.queueBindings) await connection.queueBind(b)
  }
  connection.on('connection', () => {
    connected = true
    log.info('broker connected')
    declareAll().catch((err) => log.warn({ err }, 'topology declaration failed; the publisher declares it again before publishing'))
    for (const l of connectListeners) l()
  })
  connection.on('error', (err) => {
    if (connected) log.warn({ err }, 'broker connection lost')
    else log.debug({ err }, 'broker not reachable, retrying')
    connected = false
  })

  // An unroutable `mandatory` message is returned and then confirmed: remember
  // returned ids so that the publish that sent it fails instead of succeeding.
  const returned = new Set<string>()
  const publisher: Publisher = connection.createPublisher({ confirm: true, maxAttempts: 1, ...decl })
  publisher.on('basic.return', (msg) => {
    log.error({ messageId: msg.messageId, routingKey: msg.routingKey, replyText: msg.replyText }, 'message returned as unroutable')
    if (msg.messageId !== undefined) returned.add(msg.messageId)
  })
  async function sendChecked (envelope: Exclude<Parameters<Publisher['send']>[0], string> & { messageId: string }, body: Buffer): Promise<void> {
    returned.delete(envelope.messageId)
    await publisher.send({ ...envelope, durable: true, mandatory: true }, body)
    if (returned.delete(envelope.messageId)) throw new UnroutableError(`message ${envelope.messageId} was unroutable`)
  }

  const consumers: Consumer[] = []
  const lastDepth: Record<ConsumerName, number> = { usuarios: 0, pagos: 0 }

  async function deadLetter (q: QueueTopology, msg: AsyncMessage, reason: string, cause: DeadLetterCause): Promise<void> {
    await sendChecked({
      exchange: t.deadLetterExchange,
      routingKey: q.deadLetterQueue,
      messageId: msg.messageId ?? 'sin-id',
      correlationId: msg.correlationId,
      type: msg.type,
      contentType: msg.contentType ?? 'application/octet-stream',
      headers: {
        ...msg.headers,
        [REASON_HEADER]: reason,
        'x-cola-original': q.queue,
        'x-dead-lettered-at': new Date().toISOString()
      }
    }, rawBody(msg))
    deadLettered++
    opts.metrics?.deadLettered(q.routingKey, cause)
    log.error({ queue: q.queue, messageId: msg.messageId, correlationId: msg.correlationId, motivo: reason }, 'message dead-lettered')
  }

  /** A transient failure: back to the work queue after a delay, or a dead letter once attempts run out. */
  async function retryLater (q: QueueTopology, msg: AsyncMessage, attempt: number, err: unknown): Promise<void> {
    const reason = `fallo transitorio tras ${attempt} intentos: ${(err as Error)?.message ?? String(err)}`
    if (attempt >= opts.maxAttempts) return await deadLetter(q, msg, reason, 'exhausted')
    const delay = Math.min(opts.retryDelayMs * 2 ** (attempt - 1), MAX_RETRY_DELAY_MS)
    await sendChecked({
      exchange: '',
      routingKey: q.retryQueue,
      messageId: msg.messageId ?? 'sin-id',
      correlationId: msg.correlationId,
      type: msg.type,
      contentType: msg.contentType,
      expiration: String(delay),
      headers: { ...msg.headers, [ATTEMPTS_HEADER]: attempt }
    }, rawBody(msg))
    opts.metrics?.retried(q.routingKey)
    log.warn({ err, queue: q.queue, messageId: msg.messageId, attempt, retryInMs: delay }, 'handler failed, retry scheduled')
  }

  return {
    topology: t,
    isConnected: () => connected && connection.ready,
    async publishRaw (name, json, envelope) {
      await sendChecked({
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
    consume (consumer, handler) {
      const name = Subscriptions[consumer]
      const q = t.queues[consumer]
      const sub = connection.createConsumer({
        queue: q.queue,
        queueOptions: decl.queues.find((d) => d.queue === q.queue),
        qos: { prefetchCount: opts.prefetch },
        concurrency: opts.prefetch,
        requeue: true,
        exchanges: decl.exchanges,
        queueBindings: decl.queueBindings.filter((b) => b.queue === q.queue)
      }, async (msg) => {
        // Whatever happens below is settled by publishing (retry or dead
        // letter) and then acking; if that publish fails the broker is away
        // and the nack returns the message to the queue.
        const decoded = decodeMessage(name, rawBody(msg))
        if (!decoded.ok) {
          await deadLetter(q, msg, decoded.reason, 'invalid')
          opts.metrics?.consumed(name)
          return ConsumerStatus.ACK
        }
        const attempt = attemptsOf(msg) + 1
        try {
          const result = await handler({ message: decoded.message as never, messageId: msg.messageId, correlationId: msg.correlationId, attempt })
          if ('deadLetter' in result) await deadLetter(q, msg, result.deadLetter, 'rejected')
        } catch (err) {
          await retryLater(q, msg, attempt, err)
        }
        opts.metrics?.consumed(name)
        return ConsumerStatus.ACK
      })
      sub.on('error', (err) => log.warn({ err, consumer }, 'consumer error'))
      sub.on('ready', () => log.info({ queue: q.queue }, 'consuming'))
      consumers.push(sub)
    },
    deadLettered: () => deadLettered,
    async deadLetterCount (consumer) {
      if (connection.ready) {
        try {
          const ok = await connection.queueDeclare({ queue: t.queues[consumer].deadLetterQueue, passive: true })
          lastDepth[consumer] = ok.messageCount
        } catch { /* keep the last figure */ }
      }
      return lastDepth[consumer]
    },
    onConnect (listener) {
      connectListeners.push(listener)
    },
    async stopConsuming () {
      await Promise.all(consumers.map(async (c) => await c.close()))
    },
    async close () {
      await Promise.all(consumers.map(async (c) => await c.close()))
      await publisher.close()
      await connection.close()
    }
  }
}

import { Connection, ConsumerStatus, type AsyncMessage, type Consumer, type Publisher } from 'rabbitmq-client'
import type { Logger } from 'pino'
import { decodeMessage, type MessageName, type MessageOf } from '../contracts/messages.js'
import { Subscriptions, topology, type ConsumerName, type Topology } from '../contracts/topology.js'

export interface BrokerOptions {
  url: string
  prefix: string
  prefetch: number
  /** Shown in the RabbitMQ management UI. */
  connectionName: string
  logger: Logger
}

export interface Envelope {
  messageId: string
  correlationId?: string | null
}

export interface Delivery<N extends MessageName> {
  message: MessageOf<N>
  messageId: string | undefined
  correlationId: string | undefined
  redelivered: boolean
}

/** What a handler decides; it never sees AMQP. Throwing means "try again later". */
export type HandlerResult = { ack: true } | { deadLetter: string }
export type Handler<N extends MessageName> = (delivery: Delivery<N>) => Promise<HandlerResult>

/** A quorum queue gives up after this many deliveries and dead-letters the message. */
const DELIVERY_LIMIT = 20
const REQUEUE_DELAY_MS = 500

export interface Broker {
  readonly topology: Topology
  isConnected: () => boolean
  /** Persistent, mandatory, confirmed publish of a raw JSON body. */
  publishRaw: (name: MessageName, json: string, envelope: Envelope) => Promise<void>
  consume: <N extends MessageName>(consumer: ConsumerName, handler: Handler<N & typeof Subscriptions[typeof consumer]>) => void
  /** Messages this process sent to a dead-letter queue since it started. */
  deadLettered: () => number
  /** Depth of a consumer's dead-letter queue, or undefined when the broker is away. */
  deadLetterDepth: (consumer: ConsumerName) => Promise<number | undefined>
  onConnect: (listener: () => void) => void
  /** Stops taking messages; in-flight handlers finish and are acked. */
  stopConsuming: () => Promise<void>
  /** Closes consumers (if still open), the publisher, then the connection. */
  close: () => Promise<void>
}

/** Every exchange, queue and binding of the system, declared by every service. */
function declarations (t: Topology) {
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
    { queue: q.deadLetterQueue, durable: true, arguments: { 'x-queue-type': 'quorum' as const } }
  ])
  const queueBindings = Object.values(t.queues).flatMap((q) => [
    { exchange: t.exchange, queue: q.queue, routingKey: q.routingKey },
    { exchange: t.deadLetterExchange, queue: q.deadLetterQueue, routingKey: q.deadLetterQueue }
  ])
  return { exchanges, queues, queueBindings }
}

export function createBroker (opts: BrokerOptions): Broker {
  const log = opts.logger.child({ component: 'amqp' })
  const t = topology(opts.prefix)
  const decl = declarations(t)
  const connection = new Connection({
    url: opts.url,
    connectionName: opts.connectionName,
    noDelay: true,
    retryLow: 200,
    retryHigh: 5000,
    connectionTimeout: 5000,
    acquireTimeout: 5000
  })
  let connected = false
  let deadLettered = 0
  const connectListeners: Array<() => void> = []
  connection.on('connection', () => {
    connected = true
    log.info('broker connected')
    for (const l of connectListeners) l()
  })
  connection.on('error', (err) => {
    if (connected) log.warn({ err }, 'broker connection lost')
    else log.debug({ err }, 'broker not reachable, retrying')
    connected = false
  })

  const publisher: Publisher = connection.createPublisher({ confirm: true, maxAttempts: 1, ...decl })
  publisher.on('basic.return', (msg) => {
    log.error({ messageId: msg.messageId, routingKey: msg.routingKey, replyText: msg.replyText }, 'message returned as unroutable')
  })
  const consumers: Consumer[] = []

  async function deadLetter (consumer: ConsumerName, msg: AsyncMessage, reason: string): Promise<void> {
    const q = t.queues[consumer]
    const body = Buffer.isBuffer(msg.body) ? msg.body : Buffer.from(typeof msg.body === 'string' ? msg.body : JSON.stringify(msg.body))
    await publisher.send({
      exchange: t.deadLetterExchange,
      routingKey: q.deadLetterQueue,
      durable: true,
      mandatory: true,
      messageId: msg.messageId,
      correlationId: msg.correlationId,
      type: msg.type,
      contentType: msg.contentType ?? 'application/octet-stream',
      headers: {
        ...msg.headers,
        'x-motivo': reason,
        'x-cola-original': q.queue,
        'x-dead-lettered-at': new Date().toISOString()
      }
    }, body)
    deadLettered++
    log.error({ consumer, messageId: msg.messageId, correlationId: msg.correlationId, motivo: reason }, 'message dead-lettered')
  }

  return {
    topology: t,
    isConnected: () => connected && connection.ready,
    async publishRaw (name, json, envelope) {
      await publisher.send({
        exchange: t.exchange,
        routingKey: name,
        durable: true,
        mandatory: true,
        messageId: envelope.messageId,
        correlationId: envelope.correlationId ?? undefined,
        type: name,
        contentType: 'application/json',
        timestamp: Math.floor(Date.now() / 1000)
      }, Buffer.from(json))
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
        const decoded = decodeMessage(name, msg.body)
        if (!decoded.ok) {
          await deadLetter(consumer, msg, decoded.reason)
          return ConsumerStatus.ACK
        }
        try {
          const result = await handler({
            message: decoded.message as never,
            messageId: msg.messageId,
            correlationId: msg.correlationId,
            redelivered: msg.redelivered
          })
          if ('deadLetter' in result) await deadLetter(consumer, msg, result.deadLetter)
          return ConsumerStatus.ACK
        } catch (err) {
          log.warn({ err, consumer, messageId: msg.messageId }, 'handler failed, message requeued')
          await new Promise((resolve) => setTimeout(resolve, REQUEUE_DELAY_MS))
          return ConsumerStatus.REQUEUE
        }
      })
      sub.on('error', (err) => log.warn({ err, consumer }, 'consumer error'))
      sub.on('ready', () => log.info({ queue: q.queue }, 'consuming'))
      consumers.push(sub)
    },
    deadLettered: () => deadLettered,
    async deadLetterDepth (consumer) {
      if (!connection.ready) return undefined
      try {
        const ok = await connection.queueDeclare({ queue: t.queues[consumer].deadLetterQueue, passive: true })
        return ok.messageCount
      } catch {
        return undefined
      }
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

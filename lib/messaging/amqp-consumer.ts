import { ConsumerStatus, type AsyncMessage, type Connection, type Consumer } from 'rabbitmq-client'
import type { Logger } from 'pino'
import { decodeAny, type MessageName } from '../../contracts/messages.js'
import { type ConsumerName, type QueueTopology, type Topology } from '../../contracts/topology.js'
import { batchAcks } from './amqp-ack-batching.js'
import { rawBody, type CheckedPublisher } from './amqp-publisher.js'
import type { Declarations } from './amqp-topology.js'
import { ATTEMPTS_HEADER, REASON_HEADER, type BrokerMetrics, type DeadLetterCause, type Handler } from './delivery.js'
import { settle, type RetryPolicy } from './retry-policy.js'

export interface AmqpConsumersOptions {
  connection: Connection
  /** amqp-connection.ts isConnected (not `connection.ready`: see there). */
  isConnected: () => boolean
  publisher: CheckedPublisher
  topology: Topology
  declarations: Declarations
  /** Unacked deliveries per consumer, and handlers run at once. */
  prefetch: number
  policy: RetryPolicy
  metrics?: BrokerMetrics
  log: Logger
}

export interface AmqpConsumers {
  consume: <N extends MessageName>(consumer: ConsumerName, handler: Handler<N>) => void
  /** Depth of a consumer's dead-letter queue; the last depth seen while the broker is away. */
  deadLetterCount: (consumer: ConsumerName) => Promise<number>
  /** Closes every consumer; in-flight handlers finish and are acked first. */
  stop: () => Promise<void>
}

function attemptsOf (msg: AsyncMessage): number {
  const n = Number(msg.headers?.[ATTEMPTS_HEADER] ?? 0)
  return Number.isSafeInteger(n) && n > 0 ? n : 0
}

/**
 * The delivery's body as decodeAny takes it. rabbitmq-client has already
 * parsed an application/json body: that value is handed over as it is
 * instead of being stringified and parsed again (two JSON passes and a
 * Buffer per delivery). A body the library left as bytes or text (another
 * content type, or JSON that failed to parse or was itself a string) is
 * turned into bytes by rawBody and parsed by decodeAny, as before. Handlers get that parsed
 * object and never modify it, so the retry and dead-letter copies
 * (rawBody(msg)) still carry what was delivered.
 */
function bodyOf (msg: AsyncMessage): unknown {
  const { body } = msg
  return msg.contentType === 'application/json' && typeof body !== 'string' && !Buffer.isBuffer(body) ? body : rawBody(msg)
}

/**
 * The work-queue consumers and their retry policy (retry-policy.ts): a
 * retry is a copy in the queue's `.retry` queue with a per-message TTL, a
 * dead letter a copy in its `.dlq` with the reason in REASON_HEADER; the
 * delivery is acked only once that copy is confirmed.
 */
export function createAmqpConsumers (opts: AmqpConsumersOptions): AmqpConsumers {
  const { connection, publisher, topology: t, declarations: decl, log } = opts
  const consumers: Consumer[] = []
  const lastDepth = new Map<ConsumerName, number>()

  async function deadLetter (q: QueueTopology, name: MessageName, msg: AsyncMessage, reason: string, cause: DeadLetterCause): Promise<void> {
    await publisher.send({
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
    opts.metrics?.deadLettered(name, cause)
    log.error({ queue: q.queue, messageId: msg.messageId, correlationId: msg.correlationId, motivo: reason }, 'message dead-lettered')
  }

  /** A transient failure: back to the work queue after `delay` ms. */
  async function retryLater (q: QueueTopology, name: MessageName, msg: AsyncMessage, attempt: number, delay: number, err: unknown): Promise<void> {
    await publisher.send({
      exchange: '',
      routingKey: q.retryQueue,
      messageId: msg.messageId ?? 'sin-id',
      correlationId: msg.correlationId,
      type: msg.type,
      contentType: msg.contentType,
      expiration: String(delay),
      headers: { ...msg.headers, [ATTEMPTS_HEADER]: attempt }
    }, rawBody(msg))
    opts.metrics?.retried(name)
    log.warn({ err, queue: q.queue, messageId: msg.messageId, attempt, retryInMs: delay }, 'handler failed, retry scheduled')
  }

  return {
    consume (consumer, handler) {
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
        const decoded = decodeAny(q.routingKeys, bodyOf(msg))
        if (!decoded.ok) {
          await deadLetter(q, q.routingKey, msg, decoded.reason, 'invalid')
          opts.metrics?.consumed(q.routingKey)
          return ConsumerStatus.ACK
        }
        const name = decoded.message.tipo
        const attempt = attemptsOf(msg) + 1
        // A refusal is dead-lettered inside the handler's turn: if that
        // publish fails, the delivery counts as a transient failure.
        const refusing: Handler<MessageName> = async (delivery) => {
          const result = await handler(delivery as never)
          if ('deadLetter' in result) await deadLetter(q, name, msg, result.deadLetter, 'rejected')
          return { ack: true }
        }
        const outcome = await settle(refusing, { message: decoded.message, messageId: msg.messageId, correlationId: msg.correlationId, attempt }, opts.policy)
        if ('deadLetter' in outcome) await deadLetter(q, name, msg, outcome.deadLetter, outcome.cause)
        else if ('retryInMs' in outcome) await retryLater(q, name, msg, outcome.attempts, outcome.retryInMs, outcome.error)
        opts.metrics?.consumed(name)
        return ConsumerStatus.ACK
      })
      sub.on('error', (err) => log.warn({ err, consumer }, 'consumer error'))
      if (!batchAcks(sub, (err) => log.warn({ err, consumer }, 'acks not sent; the broker redelivers those messages'))) {
        log.warn({ consumer }, 'rabbitmq-client changed: acks are sent one by one (lib/messaging/amqp-ack-batching.ts)')
      }
      sub.on('ready', () => log.info({ queue: q.queue }, 'consuming'))
      consumers.push(sub)
    },
    async deadLetterCount (consumer) {
      if (opts.isConnected()) {
        try {
          const ok = await connection.queueDeclare({ queue: t.queues[consumer].deadLetterQueue, passive: true })
          lastDepth.set(consumer, ok.messageCount)
        } catch { /* keep the last figure */ }
      }
      return lastDepth.get(consumer) ?? 0
    },
    async stop () {
      await Promise.all(consumers.map(async (c) => await c.close()))
    }
  }
}

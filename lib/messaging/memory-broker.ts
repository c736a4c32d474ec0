import { decodeAny, type MessageName } from '../../contracts/messages.js'
import { topology, type ConsumerName, type QueueTopology } from '../../contracts/topology.js'
import type { Broker } from './broker.js'
import { UnroutableError, type BrokerMetrics, type DeadLetterCause, type Handler } from './delivery.js'
import { settle, type RetryPolicy } from './retry-policy.js'

/*
 * The Broker of broker.ts in memory, for tests that need nothing running:
 * the same routing (contracts/topology.ts), the same settlement of
 * deliveries (retry-policy.ts), messages kept per queue from the start.
 * Nothing survives the process. test/helpers/broker-contract.ts runs one
 * suite against this and against RabbitMQ.
 */

export interface MemoryBrokerOptions {
  /** Names the topology, as AMQP_PREFIX does. Default 'memoria'. */
  prefix?: string
  /** Deliveries of one message before a transient failure becomes a dead letter. Default 5. */
  maxAttempts?: number
  /** Delay before the first retry, in ms; doubles on each attempt. Default 10. */
  retryDelayMs?: number
  /** Handlers run at once per consumer. Default 100. */
  prefetch?: number
  /** false: starts away (publishes reject) until connect(). Default true. */
  connected?: boolean
  metrics?: BrokerMetrics
}

/** A message as a queue holds it. */
export interface StoredMessage {
  name: MessageName
  body: string
  messageId: string
  correlationId: string | undefined
  /** Deliveries so far. */
  attempts: number
}

export interface DeadLetter extends StoredMessage {
  reason: string
  cause: DeadLetterCause
}

export interface MemoryBroker extends Broker {
  /** The broker comes back: publishes succeed again, onConnect listeners run. */
  connect: () => void
  /** The broker goes away: publishes reject until connect(). */
  disconnect: () => void
  /** Messages in a consumer's dead-letter queue, oldest first. */
  deadLetters: (consumer: ConsumerName) => DeadLetter[]
  /** Messages waiting in a consumer's work queue (not in flight, not waiting for a retry). */
  waiting: (consumer: ConsumerName) => StoredMessage[]
}

interface Queue {
  topology: QueueTopology
  ready: StoredMessage[]
  dead: DeadLetter[]
  handler?: Handler<MessageName>
  inFlight: Set<Promise<void>>
  retries: Set<NodeJS.Timeout>
}

/** An in-memory broker; connected from the start unless `connected: false`. */
export function createMemoryBroker (opts: MemoryBrokerOptions = {}): MemoryBroker {
  const t = topology(opts.prefix ?? 'memoria')
  const policy: RetryPolicy = { maxAttempts: opts.maxAttempts ?? 5, retryDelayMs: opts.retryDelayMs ?? 10 }
  const prefetch = opts.prefetch ?? 100
  let connected = opts.connected ?? true
  let consuming = true
  const listeners: Array<() => void> = []
  const queues = new Map<ConsumerName, Queue>()
  for (const consumer of Object.keys(t.queues) as ConsumerName[]) {
    queues.set(consumer, { topology: t.queues[consumer], ready: [], dead: [], inFlight: new Set(), retries: new Set() })
  }
  const queueOf = (consumer: ConsumerName): Queue => queues.get(consumer)!

  const deadLetter = (q: Queue, name: MessageName, m: StoredMessage, reason: string, cause: DeadLetterCause): void => {
    q.dead.push({ ...m, reason, cause })
    opts.metrics?.deadLettered(name, cause)
  }

  async function deliver (q: Queue, m: StoredMessage, handler: Handler<MessageName>): Promise<void> {
    m.attempts++
    const decoded = decodeAny(q.topology.routingKeys, m.body)
    const name = decoded.ok ? decoded.message.tipo : q.topology.routingKey
    if (!decoded.ok) {
      deadLetter(q, name, m, decoded.reason, 'invalid')
    } else {
      const outcome = await settle(handler, { message: decoded.message, messageId: m.messageId, correlationId: m.correlationId, attempt: m.attempts }, policy)
      if ('deadLetter' in outcome) {
        deadLetter(q, name, m, outcome.deadLetter, outcome.cause)
      } else if ('retryInMs' in outcome) {
        m.attempts = outcome.attempts
        const timer = setTimeout(() => {
          q.retries.delete(timer)
          q.ready.push(m)
          pump(q)
        }, outcome.retryInMs)
        q.retries.add(timer)
        opts.metrics?.retried(name)
      }
    }
    opts.metrics?.consumed(name)
  }

  /** Starts handlers for waiting messages, up to `prefetch` at once. */
  function pump (q: Queue): void {
    // Deliveries start on a later turn, as they would arrive from a socket.
    setImmediate(() => {
      const handler = q.handler
      while (consuming && handler !== undefined && q.inFlight.size < prefetch && q.ready.length > 0) {
        const m = q.ready.shift()!
        const run: Promise<void> = deliver(q, m, handler).finally(() => {
          q.inFlight.delete(run)
          pump(q)
        })
        q.inFlight.add(run)
      }
    })
  }

  async function stopConsuming (): Promise<void> {
    consuming = false
    for (const q of queues.values()) {
      // A retry not yet due stays in its queue, as in RabbitMQ's retry queue.
      for (const timer of q.retries) clearTimeout(timer)
      q.retries.clear()
    }
    await Promise.all([...queues.values()].flatMap((q) => [...q.inFlight]))
  }

  return {
    topology: t,
    isConnected: () => connected,
    async publishRaw (name, json, envelope) {
      if (!connected) throw new Error('broker not connected (memory)')
      const targets = [...queues.values()].filter((q) => q.topology.routingKeys.includes(name))
      if (targets.length === 0) throw new UnroutableError(`message ${envelope.messageId} was unroutable`)
      for (const q of targets) {
        q.ready.push({ name, body: json, messageId: envelope.messageId, correlationId: envelope.correlationId ?? undefined, attempts: 0 })
        pump(q)
      }
      opts.metrics?.published(name)
    },
    consume (consumer, handler) {
      const q = queueOf(consumer)
      // The queue's messages are of its routing keys, which the handler's type names.
      q.handler = handler as Handler<MessageName>
      pump(q)
    },
    deadLetterCount: async (consumer) => queueOf(consumer).dead.length,
    onConnect (listener) { listeners.push(listener) },
    stopConsuming,
    async close () {
      await stopConsuming()
      connected = false
    },
    connect () {
      connected = true
      for (const l of listeners) l()
    },
    disconnect () { connected = false },
    deadLetters: (consumer) => [...queueOf(consumer).dead],
    waiting: (consumer) => [...queueOf(consumer).ready]
  }
}

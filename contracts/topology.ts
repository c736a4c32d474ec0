import type { MessageName } from './messages.js'

/*
 * Every broker name derives from one prefix (AMQP_PREFIX), so a test run or a
 * second environment on the same broker gets its own exchanges and queues.
 *
 *   <prefix>.events        topic exchange; routing key = message name
 *   <prefix>.dlx           direct exchange for dead letters
 *   <prefix>.<consumer>.<message>        quorum work queue, bound to every message
 *                                        the consumer takes; named after its first
 *                                        (so queues of earlier versions keep their name)
 *   <prefix>.<consumer>.<message>.retry  delayed retries: per-message TTL, then back to the work queue
 *   <prefix>.<consumer>.<message>.dlq    its dead-letter queue
 */
export type ConsumerName = 'usuarios' | 'pagos'

export interface QueueTopology {
  queue: string
  retryQueue: string
  deadLetterQueue: string
  /** The message the queue is named after (the consumer's first). */
  routingKey: MessageName
  /** Every message the queue takes, routingKey first: one binding each. */
  routingKeys: readonly MessageName[]
}

export interface Topology {
  exchange: string
  deadLetterExchange: string
  queues: Record<ConsumerName, QueueTopology>
}

/** Who consumes what: pagos takes requests (payments, refunds), usuarios takes results. */
export const Subscriptions = {
  pagos: ['pago.solicitado', 'reembolso.solicitado'],
  usuarios: ['pago.procesado', 'reembolso.procesado']
} as const satisfies Record<ConsumerName, readonly MessageName[]>

/** The messages a consumer takes. */
export type SubscribedBy<C extends ConsumerName> = (typeof Subscriptions)[C][number]

export function topology (prefix: string): Topology {
  const queue = (consumer: ConsumerName): QueueTopology => {
    const routingKeys = Subscriptions[consumer]
    const routingKey = routingKeys[0]
    const name = `${prefix}.${consumer}.${routingKey}`
    return { queue: name, retryQueue: `${name}.retry`, deadLetterQueue: `${name}.dlq`, routingKey, routingKeys }
  }
  return {
    exchange: `${prefix}.events`,
    deadLetterExchange: `${prefix}.dlx`,
    queues: { pagos: queue('pagos'), usuarios: queue('usuarios') }
  }
}

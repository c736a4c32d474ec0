import type { MessageName } from './messages.js'

/*
 * Every broker name derives from one prefix (AMQP_PREFIX), so a test run or a
 * second environment on the same broker gets its own exchanges and queues.
 *
 *   <prefix>.events        topic exchange; routing key = message name
 *   <prefix>.dlx           direct exchange for dead letters
 *   <prefix>.<consumer>.<message>        quorum work queue
 *   <prefix>.<consumer>.<message>.retry  delayed retries: per-message TTL, then back to the work queue
 *   <prefix>.<consumer>.<message>.dlq    its dead-letter queue
 */
export type ConsumerName = 'usuarios' | 'pagos'

export interface QueueTopology {
  queue: string
  retryQueue: string
  deadLetterQueue: string
  routingKey: MessageName
}

export interface Topology {
  exchange: string
  deadLetterExchange: string
  queues: Record<ConsumerName, QueueTopology>
}

/** Who consumes what: pagos takes requests, usuarios takes results. */
export const Subscriptions: Record<ConsumerName, MessageName> = {
  pagos: 'pago.solicitado',
  usuarios: 'pago.procesado'
}

export function topology (prefix: string): Topology {
  const queue = (consumer: ConsumerName): QueueTopology => {
    const routingKey = Subscriptions[consumer]
    const name = `${prefix}.${consumer}.${routingKey}`
    return { queue: name, retryQueue: `${name}.retry`, deadLetterQueue: `${name}.dlq`, routingKey }
  }
  return {
    exchange: `${prefix}.events`,
    deadLetterExchange: `${prefix}.dlx`,
    queues: { pagos: queue('pagos'), usuarios: queue('usuarios') }
  }
}

import type { MessageName, MessageOf } from '../../contracts/messages.js'

/*
 * What a message handler sees and answers, whatever the transport (RabbitMQ
 * in broker.ts, memory in memory-broker.ts): handlers know nothing of AMQP.
 */

export interface Envelope {
  /** The id of what the message is about (a payment's, or a refund's): the idempotency key end to end. */
  messageId: string
  /** The HTTP request id the message descends from. */
  correlationId?: string | null
}

export interface Delivery<N extends MessageName> {
  message: MessageOf<N>
  messageId: string | undefined
  correlationId: string | undefined
  /** 1 on the first delivery, counted by us across retries. */
  attempt: number
}

/** What a handler decides. Throwing means "try again later" (retry-policy.ts). */
export type HandlerResult = { ack: true } | { deadLetter: string }
export type Handler<N extends MessageName> = (delivery: Delivery<N>) => Promise<HandlerResult>

/** One handler per message a consumer takes. */
export type Handlers<N extends MessageName> = { [M in N]: Handler<M> }

/** One handler for a queue that carries several messages: each delivery goes to its message's handler (by `tipo`, its name). */
export function dispatch<N extends MessageName> (handlers: Handlers<N>): Handler<N> {
  return async (delivery) => await (handlers[delivery.message.tipo as N] as Handler<N>)(delivery)
}

/** Why a message went to a dead-letter queue: it failed its contract, the handler refused it, or retries ran out. */
export type DeadLetterCause = 'invalid' | 'rejected' | 'exhausted'

/** Hooks a broker calls as messages move; it never imports a metrics library itself (lib/observability/metrics.ts implements them). */
export interface BrokerMetrics {
  published: (name: MessageName) => void
  /** A delivery taken from a work queue and settled (whatever its outcome). */
  consumed: (name: MessageName) => void
  retried: (name: MessageName) => void
  deadLettered: (name: MessageName, cause: DeadLetterCause) => void
}

/** A publish no queue took: the message was returned, not stored. */
export class UnroutableError extends Error {
  override name = 'UnroutableError'
}

/** The consumer's own attempt count; newer RabbitMQ releases do not count nacks. */
export const ATTEMPTS_HEADER = 'x-intentos'
/** Why a message is in a dead-letter queue. */
export const REASON_HEADER = 'x-motivo'

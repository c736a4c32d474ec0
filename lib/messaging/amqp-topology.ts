import type { Topology } from '../../contracts/topology.js'

/** Safety net: a quorum queue dead-letters a message delivered this many times (e.g. one that kills the process). */
const DELIVERY_LIMIT = 20

export type Declarations = ReturnType<typeof declarations>

/**
 * Every exchange, queue and binding of the system in rabbitmq-client's
 * shapes, declared by every service (contracts/topology.ts names them).
 */
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
    ...q.routingKeys.map((routingKey) => ({ exchange: t.exchange, queue: q.queue, routingKey })),
    { exchange: t.deadLetterExchange, queue: q.deadLetterQueue, routingKey: q.deadLetterQueue }
  ])
  return { exchanges, queues, queueBindings }
}

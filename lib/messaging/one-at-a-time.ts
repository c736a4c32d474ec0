import type { Delivery, HandlerResult } from './delivery.js'
import type { MessageName } from '../../contracts/messages.js'

/**
 * Wraps a handler so that this process handles one delivery per key at a
 * time (a payment id, a refund id): a copy that arrives while another is
 * being handled — the provider may be slow — waits for it, then runs and
 * finds the first one's result recorded. Deliveries with different keys run
 * concurrently. The handler's result and errors pass through unchanged.
 */
export function oneAtATime<N extends MessageName> (keyOf: (delivery: Delivery<N>) => string, handler: (delivery: Delivery<N>) => Promise<HandlerResult>) {
  const inFlight = new Map<string, Promise<HandlerResult>>()
  return async (delivery: Delivery<N>): Promise<HandlerResult> => {
    const key = keyOf(delivery)
    // The check and the claim below run in one synchronous stretch: no other copy slips in between.
    while (inFlight.has(key)) await inFlight.get(key)!.catch(() => {})
    const work = handler(delivery)
    inFlight.set(key, work)
    try {
      return await work
    } finally {
      if (inFlight.get(key) === work) inFlight.delete(key)
    }
  }
}

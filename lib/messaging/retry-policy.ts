import type { MessageName } from '../../contracts/messages.js'
import { isDatabaseUnavailable } from '../storage/unavailable.js'
import type { DeadLetterCause, Delivery, Handler } from './delivery.js'

/** Longest wait before a retry, in ms, however many attempts came before. */
export const MAX_RETRY_DELAY_MS = 60_000

export interface RetryPolicy {
  /** Deliveries of one message before a transient failure becomes a dead letter. */
  maxAttempts: number
  /** Delay before the first retry, in ms; doubles on each attempt (capped at MAX_RETRY_DELAY_MS). */
  retryDelayMs: number
}

/** What becomes of a delivery; every transport settles it this way. */
export type Settlement =
  | { ack: true }
  | { deadLetter: string, cause: Extract<DeadLetterCause, 'rejected' | 'exhausted'> }
  /** `attempts`: the attempts used so far, as the transport records them for the next delivery. */
  | { retryInMs: number, error: unknown, attempts: number }

/** The wait before retrying after attempt `attempt` (1-based) failed, in ms. */
export function retryDelay (policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.retryDelayMs * 2 ** (attempt - 1), MAX_RETRY_DELAY_MS)
}

/**
 * Runs a handler on a decoded delivery: its answer is acked or dead-lettered
 * (`rejected`); a throw is retried after retryDelay, or dead-lettered
 * (`exhausted`) once `delivery.attempt` reached maxAttempts. A throw because
 * the database is away (PostgreSQL restarting or recovering: no fault of the
 * message) is retried without using up an attempt, however long that lasts.
 * Never throws.
 */
export async function settle<N extends MessageName> (handler: Handler<N>, delivery: Delivery<N>, policy: RetryPolicy): Promise<Settlement> {
  try {
    const result = await handler(delivery)
    return 'deadLetter' in result ? { deadLetter: result.deadLetter, cause: 'rejected' } : { ack: true }
  } catch (error) {
    if (isDatabaseUnavailable(error)) return { retryInMs: retryDelay(policy, delivery.attempt), error, attempts: delivery.attempt - 1 }
    if (delivery.attempt >= policy.maxAttempts) {
      return { deadLetter: `fallo transitorio tras ${delivery.attempt} intentos: ${(error as Error)?.message ?? String(error)}`, cause: 'exhausted' }
    }
    return { retryInMs: retryDelay(policy, delivery.attempt), error, attempts: delivery.attempt }
  }
}

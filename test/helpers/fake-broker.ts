import type { Broker } from '../../lib/messaging/broker.js'
import { createMemoryBroker } from '../../lib/messaging/memory-broker.js'

/**
 * An in-memory broker whose publishes are recorded and can be held or made
 * to fail, for outbox relay tests.
 * `hold()` makes publishes wait until `release()` (or fail on `release(err)`),
 * so a test can keep a relay in the middle of a batch.
 */
export function fakeBroker (opts: { delayMs?: number } = {}) {
  const published: string[] = []
  const calls = { n: 0 }
  let gate: { promise: Promise<void>, resolve: () => void, reject: (err: Error) => void } | undefined
  let failures = 0
  const memory = createMemoryBroker()
  const broker: Broker = {
    ...memory,
    async publishRaw (name, json, envelope) {
      calls.n++
      if (gate !== undefined) await gate.promise
      if (opts.delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, opts.delayMs))
      if (failures > 0) {
        failures--
        throw new Error('broker away (fake)')
      }
      await memory.publishRaw(name, json, envelope)
      published.push(envelope.messageId)
    }
  }
  return {
    broker,
    published,
    /** publishRaw calls, finished or not. */
    calls,
    /** Publishes wait from now on. */
    hold () {
      let resolve!: () => void
      let reject!: (err: Error) => void
      const promise = new Promise<void>((_resolve, _reject) => { resolve = _resolve; reject = _reject })
      promise.catch(() => {})
      gate = { promise, resolve, reject }
    },
    release (err?: Error) {
      const g = gate
      gate = undefined
      if (err === undefined) g?.resolve()
      else g?.reject(err)
    },
    /** The next `n` publishes fail. */
    failNext (n: number) { failures = n }
  }
}

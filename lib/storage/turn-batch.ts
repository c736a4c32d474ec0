/** Calls gathered into one batch at most; the rest wait for the next batch. */
export const TURN_BATCH_MAX = 100

/**
 * Gathers the calls made in one turn of the event loop (the deliveries read
 * from the broker's socket in that turn) into one call of `run`, so that a
 * PostgreSQL step costs one round trip per batch instead of one per call.
 * `run(items)` resolves with one result per item, in order. One batch runs
 * at a time: calls made meanwhile form the next one, so batches grow with
 * the load and are 1 when idle (no added latency beyond one `setImmediate`).
 *
 * If `run` rejects for a batch of several (a deadlock between instances,
 * one item the statement refuses), each item is run again alone, so only
 * the items that fail on their own reject, with their own error; the caller
 * retries them as after any failed statement. `run` must therefore be safe
 * to repeat for items whose batch failed: a single statement (atomic, so a
 * failed one changed nothing) or a transaction.
 */
export function batchPerTurn<I, O> (run: (items: I[]) => Promise<O[]>, maxBatch = TURN_BATCH_MAX): (item: I) => Promise<O> {
  const queue: Array<{ item: I, resolve: (o: O) => void, reject: (err: unknown) => void }> = []
  let running = false

  const runAlone = async (item: I): Promise<O> => {
    const [result] = await run([item])
    return result as O
  }

  async function flush (): Promise<void> {
    const batch = queue.splice(0, maxBatch)
    try {
      const results = await run(batch.map((b) => b.item))
      batch.forEach((b, i) => { b.resolve(results[i] as O) })
    } catch (err) {
      if (batch.length === 1) batch[0]!.reject(err)
      else await Promise.all(batch.map(async (b) => { await runAlone(b.item).then(b.resolve, b.reject) }))
    } finally {
      running = false
      schedule()
    }
  }

  function schedule (): void {
    if (running || queue.length === 0) return
    running = true
    setImmediate(() => { void flush() })
  }

  return async (item: I): Promise<O> => await new Promise<O>((resolve, reject) => {
    queue.push({ item, resolve, reject })
    schedule()
  })
}

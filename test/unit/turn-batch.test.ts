import t from 'tap'
import { batchPerTurn } from '../../lib/storage/turn-batch.js'

t.test('calls made in one turn run as one batch, each caller gets its own result', async (t) => {
  const batches: number[][] = []
  const double = batchPerTurn(async (items: number[]) => {
    batches.push(items)
    return items.map((n) => n * 2)
  })
  const results = await Promise.all([1, 2, 3, 4].map(async (n) => await double(n)))
  t.same(results, [2, 4, 6, 8])
  t.same(batches, [[1, 2, 3, 4]], 'one call of run for the four')
})

t.test('calls made while a batch runs wait and form the next batch; batches are at most maxBatch', async (t) => {
  const batches: number[][] = []
  let release: () => void = () => {}
  const gate = new Promise<void>((resolve) => { release = resolve })
  const run = batchPerTurn(async (items: number[]) => {
    batches.push(items)
    if (batches.length === 1) await gate
    return items
  }, 3)
  const first = run(0)
  await new Promise((resolve) => setImmediate(resolve))
  t.same(batches, [[0]], 'the first batch runs alone')
  const later = [1, 2, 3, 4, 5].map(async (n) => await run(n))
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(batches.length, 1, 'nothing else runs while the first batch is in flight')
  release()
  t.same(await Promise.all([first, ...later]), [0, 1, 2, 3, 4, 5])
  t.same(batches, [[0], [1, 2, 3], [4, 5]], 'the waiting calls, three at a time')
})

t.test('a failed batch runs each item alone: only the item that fails alone rejects, with its own error', async (t) => {
  const batches: string[][] = []
  const run = batchPerTurn(async (items: string[]) => {
    batches.push(items)
    const bad = items.find((s) => s.startsWith('bad'))
    // As a statement fails as a whole: one bad item (or a deadlock) fails the batch.
    if (bad !== undefined) throw new Error(`${bad} refused`)
    return items.map((s) => s.toUpperCase())
  })
  const outcomes = await Promise.allSettled(['a', 'bad1', 'b'].map(async (s) => await run(s)))
  t.same(outcomes.map((o) => o.status), ['fulfilled', 'rejected', 'fulfilled'])
  t.same(outcomes.map((o) => o.status === 'fulfilled' ? o.value : (o.reason as Error).message), ['A', 'bad1 refused', 'B'])
  t.same(batches, [['a', 'bad1', 'b'], ['a'], ['bad1'], ['b']], 'the batch, then each item alone')
})

t.test('a batch of one that fails rejects with its error and is not run again', async (t) => {
  let calls = 0
  const run = batchPerTurn(async (_items: number[]): Promise<number[]> => {
    calls++
    throw Object.assign(new Error('deadlock detected'), { code: '40P01' })
  })
  await t.rejects(run(1), { code: '40P01' }, 'the caller sees the retryable error')
  t.equal(calls, 1)
  t.same(await Promise.allSettled([run(2)]).then((o) => o[0]!.status), 'rejected', 'and the batcher keeps working')
})

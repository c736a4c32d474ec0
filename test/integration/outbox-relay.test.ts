import { randomUUID } from 'node:crypto'
import t from 'tap'
import type { Kysely } from 'kysely'
import { outboxClaim } from '../../lib/storage/outbox-claim.js'
import { createOutboxRelay, type OutboxDatabase, type OutboxRelay } from '../../lib/messaging/outbox-relay.js'
import { dialects, freshDatabaseUrl, openTestDb, silent, usuariosDb, type Test } from '../helpers/apps.js'
import { fakeBroker } from '../helpers/fake-broker.js'
import { waitFor } from '../helpers/poll.js'
import { migrations } from '../../usuarios/store/migrations.js'

type OutboxDb = Kysely<OutboxDatabase>

async function addRows (db: OutboxDb, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, () => randomUUID())
  for (let i = 0; i < ids.length; i += 200) {
    await db.insertInto('outbox').values(ids.slice(i, i + 200).map((id) => ({
      tipo: 'pago.solicitado' as const, message_id: id, correlation_id: null, payload: '{}', creado_en: new Date().toISOString()
    }))).execute()
  }
  return ids
}

async function backlog (db: OutboxDb): Promise<number> {
  return Number((await db.selectFrom('outbox').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n)
}

function relay (t: Test, db: OutboxDb, broker: ReturnType<typeof fakeBroker>, batch = 50): OutboxRelay {
  const r = createOutboxRelay({ db, broker: broker.broker, logger: silent, batch, pollMs: 20, claim: outboxClaim(db) })
  t.teardown(async () => { await r.stop() })
  return r
}

for (const dialect of dialects) {
  t.test(dialect, async (t) => {
    t.test('a relay publishes every row once, in id order, and deletes it after the confirm', async (t) => {
      const db: OutboxDb = await usuariosDb(t, dialect)
      const ids = await addRows(db, 120)
      const broker = fakeBroker()
      relay(t, db, broker).start()
      await waitFor('outbox empty', async () => await backlog(db) === 0)
      t.same(broker.published, ids, 'each row once, in the order written')
    })

    t.test('under load a lingering relay claims no sooner than lingerMs after its last claim, and stop cuts the wait short', async (t) => {
      const db: OutboxDb = await usuariosDb(t, dialect)
      const broker = fakeBroker()
      const claims: number[] = []
      const claim = outboxClaim(db)
      const r = createOutboxRelay({
        db,
        broker: broker.broker,
        logger: silent,
        batch: 50,
        pollMs: 60_000,
        // Long enough that the test's own steps (a poll, an insert) fit well
        // inside it on a busy machine: the check below is only meaningful if
        // notify() came while the relay was lingering.
        lingerMs: 5000,
        claim: async (...args) => { claims.push(performance.now()); return await claim(...args) }
      })
      t.teardown(async () => { await r.stop() })
      const [first] = await addRows(db, 1)
      r.start()
      await waitFor('the first row published', () => broker.published.length === 1)
      const [second] = await addRows(db, 1)
      r.notify()
      const notifiedAfter = performance.now() - claims[0]!
      await waitFor('the second row published', () => broker.published.length === 2)
      t.same(broker.published, [first, second])
      t.ok(notifiedAfter < 4000, `woken well within the linger (${notifiedAfter.toFixed(0)} ms after the first claim)`)
      const gap = claims[1]! - claims[0]!
      // Timers run on the event loop's cached clock, so allow them to be a little early.
      t.ok(gap >= 4800, `the wake-up waited for the linger (${gap.toFixed(0)} ms between claims)`)
      // Now lingering after a partial batch again: stop must not wait it out (tap's timeout would).
      await addRows(db, 1)
      r.notify()
      const stopping = performance.now()
      await r.stop()
      t.ok(performance.now() - stopping < 4000, 'stopped before the linger ran out')
    })

    t.test('a lingering relay claims full batches back to back', async (t) => {
      const db: OutboxDb = await usuariosDb(t, dialect)
      const ids = await addRows(db, 120)
      const broker = fakeBroker()
      const r = createOutboxRelay({ db, broker: broker.broker, logger: silent, batch: 50, pollMs: 60_000, lingerMs: 60_000, claim: outboxClaim(db) })
      t.teardown(async () => { await r.stop() })
      r.start()
      await waitFor('outbox empty', async () => await backlog(db) === 0)
      t.same(broker.published, ids, 'two full batches and the rest, without waiting out the linger')
    })

    t.test('a publish that fails leaves the rows for the next round', async (t) => {
      const db: OutboxDb = await usuariosDb(t, dialect)
      const ids = await addRows(db, 30)
      const broker = fakeBroker()
      broker.failNext(5)
      relay(t, db, broker, 10).start()
      await waitFor('outbox empty', async () => await backlog(db) === 0)
      t.same(new Set(broker.published), new Set(ids), 'every row published in the end')
    })
  })
}

// Several instances share a PostgreSQL database, and so its outbox.
t.test('postgres: several relays on one outbox', { skip: !dialects.includes('postgres') && 'SKIP_POSTGRES=1' }, async (t) => {
  /** `n` instances' pools on one fresh database. */
  async function instances (t: Test, n: number): Promise<OutboxDb[]> {
    const url = (await freshDatabaseUrl(t, 'postgres', 'outbox'))!
    const dbs: OutboxDb[] = []
    for (let i = 0; i < n; i++) dbs.push(await openTestDb<OutboxDatabase>(t, migrations, { dialect: 'postgres', url }))
    return dbs
  }

  t.test('three relays publish every row exactly once between them', async (t) => {
    const dbs = await instances(t, 3)
    const ids = await addRows(dbs[0]!, 600)
    const brokers = dbs.map(() => fakeBroker({ delayMs: 2 }))
    dbs.forEach((db, i) => relay(t, db, brokers[i]!, 25).start())
    await waitFor('outbox empty', async () => await backlog(dbs[0]!) === 0, { timeoutMs: 60_000 })
    const all = brokers.flatMap((b) => b.published)
    t.equal(all.length, ids.length, 'as many publishes as rows: none twice')
    t.same(new Set(all), new Set(ids), 'every row published')
    t.ok(brokers.every((b) => b.published.length > 0), `all three relays did work (${brokers.map((b) => b.published.length).join(', ')})`)
  })

  t.test('a relay stuck in a batch does not stall the others (SKIP LOCKED)', async (t) => {
    const [a, b] = await instances(t, 2)
    const ids = await addRows(a!, 30)
    const stuck = fakeBroker()
    stuck.hold()
    relay(t, a!, stuck, 10).start()
    await waitFor('relay A holds its first batch', () => stuck.calls.n === 10)
    const other = fakeBroker()
    relay(t, b!, other, 10).start()
    await waitFor('relay B publishes the rest', () => other.published.length === 20)
    t.equal(await backlog(a!), 10, 'only the batch A holds is left, still locked by A')
    t.same(other.published, ids.slice(10), 'B skipped A\'s rows and took the others in order')
    stuck.release()
    await waitFor('outbox empty', async () => await backlog(a!) === 0)
    t.same(stuck.published, ids.slice(0, 10), 'A published its batch once released')
  })

  t.test('a batch whose publish failed goes back to the pool for any relay', async (t) => {
    const [a, b] = await instances(t, 2)
    const ids = await addRows(a!, 10)
    const failing = fakeBroker()
    failing.hold()
    const ra = relay(t, a!, failing, 10)
    ra.start()
    await waitFor('relay A holds the batch', () => failing.calls.n === 10)
    const other = fakeBroker()
    relay(t, b!, other, 10).start()
    failing.release(new Error('confirm lost'))
    await ra.stop()
    await waitFor('outbox empty', async () => await backlog(b!) === 0)
    t.same(new Set(other.published), new Set(ids), 'B published the rows A gave back')
  })
})

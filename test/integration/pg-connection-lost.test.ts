import { sql } from 'kysely'
import pg from 'pg'
import t from 'tap'
import { createTestDatabase, POSTGRES_ADMIN_URL, postgresSkipped } from '../../lib/launch/postgres.js'
import { openDatabase } from '../../lib/storage/db.js'
import { silent } from '../helpers/apps.js'
import { waitFor } from '../helpers/poll.js'

// Regression: a connection the server ended while the pool had lent it out
// (pg_terminate_backend, a PostgreSQL restart or crash) emitted an 'error'
// nobody listened to, and the service stopped ("fatal error, shutting down").
t.test('a connection ended while in use fails its transaction, not the process; the next one works', { skip: postgresSkipped }, async (t) => {
  const database = await createTestDatabase('lost')
  t.teardown(async () => { await database.drop() })
  const db = openDatabase<any>({ url: database.url, sqliteFile: '', synchronous: 'FULL', poolMax: 2, name: 'lost', logger: silent })
  t.teardown(async () => { await db.destroy() })
  const terminate = async (): Promise<number> => {
    const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL })
    await admin.connect()
    try {
      const r = await admin.query('select count(pg_terminate_backend(pid))::int as n from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [database.name])
      return r.rows[0].n
    } finally { await admin.end() }
  }

  /** Whether a backend of the test's database is running `query` now. */
  const running = async (query: string): Promise<boolean> => {
    const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL })
    await admin.connect()
    try {
      const r = await admin.query("select count(*)::int as n from pg_stat_activity where datname = $1 and state = 'active' and query = $2", [database.name, query])
      return r.rows[0].n > 0
    } finally { await admin.end() }
  }

  // Lent out, between two statements of a transaction (no query in flight).
  await t.rejects(db.transaction().execute(async (trx) => {
    await sql`select 1`.execute(trx)
    t.ok(await terminate() >= 1, 'its backend was terminated')
    await new Promise((resolve) => setTimeout(resolve, 300))
    await sql`select 1`.execute(trx)
  }), 'the transaction fails')

  // Lent out, with a query in flight.
  const sleeping = t.rejects(sql`select pg_sleep(10)`.execute(db), 'the query in flight fails')
  await waitFor('the query running on the server', async () => await running('select pg_sleep(10)'))
  await terminate()
  await sleeping

  // The pool's idle connection was terminated too: a query sent on it before
  // its close arrives fails, as any in flight would; polled (not slept on)
  // until the pool has let it go and opened a new one.
  const rows = await waitFor('a query on a new connection', async () => {
    try { return (await sql<{ one: number }>`select 1 as one`.execute(db)).rows } catch { return undefined }
  }, { timeoutMs: 10_000, intervalMs: 100 })
  t.same(rows, [{ one: 1 }], 'the pool opens a new connection')
})

import { randomBytes } from 'node:crypto'
import pg from 'pg'

/**
 * The local PostgreSQL the tests create their databases in (CI: trust auth,
 * user postgres). Each database is `pagos_test_<pid>_<random>`, made from the
 * `postgres` maintenance database and dropped when the test is done.
 */
export const POSTGRES_ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

/** SKIP_POSTGRES=1 runs the SQLite half of the dual-dialect suites only (a machine without PostgreSQL). */
export const postgresSkipped = process.env.SKIP_POSTGRES === '1'

async function admin<T> (fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 10_000 })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

export interface TestDatabase {
  name: string
  url: string
  /** Drops it, closing whatever connections are left. */
  drop: () => Promise<void>
}

export async function createTestDatabase (label = 'db'): Promise<TestDatabase> {
  const name = `pagos_test_${process.pid}_${randomBytes(4).toString('hex')}_${label.replace(/[^a-z0-9]/gi, '').toLowerCase()}`.slice(0, 63)
  await admin(async (c) => { await c.query(`create database "${name}"`) })
  const url = new URL(POSTGRES_ADMIN_URL)
  url.pathname = `/${name}`
  let dropped = false
  return {
    name,
    url: url.toString(),
    async drop () {
      if (dropped) return
      dropped = true
      await admin(async (c) => { await c.query(`drop database if exists "${name}" with (force)`) })
    }
  }
}

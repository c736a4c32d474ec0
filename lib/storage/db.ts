import { createRequire } from 'node:module'
import type pg from 'pg'
import { Kysely, Migrator, PostgresAdapter, PostgresDialect, sql, type ColumnDataType, type ColumnDefinitionBuilder, type Migration, type PostgresPool, type PostgresPoolClient, type RawBuilder } from 'kysely'
import type { Logger } from 'pino'
import { openSqlite } from './sqlite.js'

/*
 * Every difference between SQLite and PostgreSQL lives here; the stores and
 * migrations are the same Kysely code on both and ask this module when the
 * dialects differ (column types, row locks, advisory locks); the outbox claim
 * (outbox-claim.ts) and the group commit (group-commit.ts) ask it too.
 */

export type DialectName = 'sqlite' | 'postgres'

export interface DatabaseOptions {
  /** A `postgres://` URL selects PostgreSQL; undefined selects the SQLite file. */
  url: string | undefined
  sqliteFile: string
  synchronous: 'FULL' | 'NORMAL'
  /** Connections in the PostgreSQL pool. */
  poolMax: number
  /** Shown as application_name in pg_stat_activity. */
  name: string
  logger: Logger
}

export function openDatabase<DB> (opts: DatabaseOptions): Kysely<DB> {
  if (opts.url === undefined) return openSqlite<DB>({ file: opts.sqliteFile, synchronous: opts.synchronous })
  return openPostgres<DB>(opts.url, opts)
}

/**
 * int8 (bigint, count(*)) as a JS number, exact or refused: a balance is at
 * most 10^12 cents (SALDO_MAXIMO), far below 2^53, and a value past the safe
 * integers (a row written by hand) is a RangeError, never a rounded number.
 */
function parseInt8 (value: string): number {
  const n = Number(value)
  if (!Number.isSafeInteger(n)) throw new RangeError(`bigint ${value} does not fit a JS number`)
  return n
}

// pg is loaded only when a service runs on PostgreSQL: on SQLite it would be
// about 15 MB of resident code for nothing.
const require = createRequire(import.meta.url)

export function openPostgres<DB> (url: string, opts: { poolMax: number, name: string, logger: Logger }): Kysely<DB> {
  const { Pool, types } = require('pg') as typeof pg
  const pool = new Pool({
    connectionString: url,
    max: opts.poolMax,
    application_name: opts.name,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    // A transaction left open (a relay waiting on a broker that hangs) gives
    // its row locks back instead of holding them forever.
    idle_in_transaction_session_timeout: 60_000,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === types.builtins.INT8 ? parseInt8 : types.getTypeParser(oid, format as 'text')) as typeof types.getTypeParser
    }
  })
  // A connection the server ends (pg_terminate_backend, a restart, a crash)
  // emits 'error' whether it is idle or checked out; the pool listens only
  // while it is idle, and an unheard 'error' would end the process. Each
  // connection is listened to for its whole life: a query in flight fails
  // (the caller answers 5xx, the client retries) and the pool drops the
  // connection when it comes back (not queryable).
  pool.on('connect', (client) => {
    client.on('error', (err) => opts.logger.warn({ err: { message: err.message, code: (err as { code?: string }).code } }, 'database connection lost'))
  })
  // The same error, heard again by the pool for an idle connection: logged above.
  pool.on('error', () => {})
  return new Kysely<DB>({ dialect: new PostgresDialect({ pool: namingStatements(pool) }) })
}

/** Distinct SQL texts named per process at most; past it, statements run unnamed (parsed each time). */
export const NAMED_STATEMENTS_MAX = 1000

const DML = /^\s*(select|insert|update|delete|with)\b/i

/**
 * The pool as Kysely sees it, with every data statement (select, insert,
 * update, delete, with) sent as a named prepared statement: each connection
 * parses and plans a text once and then only binds and executes it (the
 * same SQL text always gets the same name in this process, `s1`, `s2`, …).
 * Transaction control (begin, commit, savepoint) and DDL stay plain queries.
 *
 * A prepared `select *` whose table gained a column since (another
 * instance migrated) fails with 0A000 "cached plan must not change result
 * type": the error reaches the caller as any transient database error (a
 * 5xx, a retried message), and the connection is destroyed on release so
 * that the next use prepares again.
 */
export function namingStatements (pool: pg.Pool, max = NAMED_STATEMENTS_MAX): PostgresPool {
  const names = new Map<string, string>()
  const nameOf = (text: string): string | undefined => {
    let name = names.get(text)
    if (name === undefined && names.size < max && DML.test(text)) {
      name = `s${names.size + 1}`
      names.set(text, name)
    }
    return name
  }
  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>()
  const wrap = (client: pg.PoolClient): PostgresPoolClient => {
    let stale = false
    const wrapper: PostgresPoolClient = {
      query: (async (text: unknown, values?: unknown[]) => {
        // A cursor (Kysely's stream) goes through as it is.
        if (typeof text !== 'string') return client.query(text as any)
        try {
          return await client.query({ name: nameOf(text), text, values })
        } catch (err) {
          if ((err as { code?: unknown }).code === '0A000') stale = true
          throw err
        }
      }) as PostgresPoolClient['query'],
      release: (destroy?: boolean) => {
        client.release(destroy === true || stale)
        if (stale) wrappers.delete(client)
      }
    }
    return wrapper
  }
  return {
    connect: async () => {
      const client = await pool.connect()
      let wrapper = wrappers.get(client)
      if (wrapper === undefined) {
        wrapper = wrap(client)
        wrappers.set(client, wrapper)
      }
      return wrapper
    },
    end: async () => { await pool.end() }
  }
}

export function dialectOf (db: Kysely<any>): DialectName {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite'
}

/** Opens the service's database and brings it to the latest migration (closing it again if that fails). */
export async function openMigrated<DB> (opts: DatabaseOptions, migrations: Record<string, Migration>): Promise<Kysely<DB>> {
  const db = openDatabase<DB>(opts)
  try {
    await migrate(db, migrations)
  } catch (err) {
    await db.destroy()
    throw err
  }
  return db
}

/** Applies the service's migrations (kept in code, in order) at start. On PostgreSQL Kysely's migrator holds an advisory lock, so instances starting together migrate once. */
export async function migrate (db: Kysely<any>, migrations: Record<string, Migration>): Promise<void> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } })
  const { error, results } = await migrator.migrateToLatest()
  const failed = results?.find((r) => r.status === 'Error')
  if (error !== undefined || failed !== undefined) {
    throw new Error(`migration ${failed?.migrationName ?? ''} failed: ${String(error)}`)
  }
}

/* ---- migrations ---------------------------------------------------------- */

/** A 64-bit integer column (money, ids): SQLite's INTEGER already is one; PostgreSQL's integer is 32-bit. */
export function int64 (db: Kysely<any>): ColumnDataType {
  return dialectOf(db) === 'postgres' ? 'bigint' : 'integer'
}

/** A primary key the database numbers: AUTOINCREMENT on SQLite, an identity column on PostgreSQL. Spread into addColumn. */
export function serialKey (db: Kysely<any>): [ColumnDataType, (c: ColumnDefinitionBuilder) => ColumnDefinitionBuilder] {
  return dialectOf(db) === 'postgres'
    ? ['bigint', (c) => c.primaryKey().generatedByDefaultAsIdentity()]
    : ['integer', (c) => c.primaryKey().autoIncrement()]
}

/* ---- money ----------------------------------------------------------------- */

/**
 * Integer cents as an SQL operand. better-sqlite3 binds every JS number as a
 * double, so `saldo_centimos - ?` was float arithmetic on SQLite: exact
 * below 2^53, silently wrong above (issue 12). The cast makes it 64-bit
 * integer arithmetic on SQLite and PostgreSQL alike. A RangeError for
 * anything but a safe integer.
 */
export function centimosSql (centimos: number): RawBuilder<number> {
  if (!Number.isSafeInteger(centimos)) throw new RangeError(`${centimos} is not a safe integer number of cents`)
  return sql<number>`cast(${centimos} as bigint)`
}

/* ---- time ---------------------------------------------------------------- */

/**
 * PostgreSQL only: the server's clock when the expression is evaluated, as
 * JavaScript's `toISOString()` writes it (UTC, milliseconds:
 * `2026-11-30T04:01:46.420Z`). In a statement that first locks a row, an
 * instant read after the lock, as the stores date a movement after its
 * UPDATE.
 */
export const pgNowIso: RawBuilder<string> = sql<string>`to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`

/* ---- locks --------------------------------------------------------------- */

/**
 * Whether `SELECT ... FOR UPDATE` exists. SQLite has no row locks and needs
 * none: one connection per service serialises its transactions.
 */
export function hasRowLocks (db: Kysely<any>): boolean {
  return dialectOf(db) === 'postgres'
}

/** A stable 32-bit key for an advisory lock name (FNV-1a). */
function lockKey (name: string): number {
  let h = 0x811c9dc5
  for (const ch of Buffer.from(name)) h = Math.imul(h ^ ch, 0x01000193)
  return h | 0
}

/**
 * Inside a transaction: waits until no other transaction holds the lock
 * `name`, and holds it until this one ends. On PostgreSQL a transaction-scoped
 * advisory lock (instances starting together seed once); SQLite's single
 * writer already serialises.
 */
export async function lockForSetup (trx: Kysely<any>, name: string): Promise<void> {
  if (dialectOf(trx) === 'postgres') await sql`select pg_advisory_xact_lock(${lockKey(name)})`.execute(trx)
}

import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { Kysely, SqliteDialect, type SqliteDatabase } from 'kysely'

export interface SqliteOptions {
  file: string
  synchronous: 'FULL' | 'NORMAL'
}

/**
 * SQLite's page cache, per connection, in KiB. better-sqlite3 builds SQLite
 * with 16 MB, which a growing database fills over its first ~100,000
 * payments: resident memory that looked like a leak in `npm run bench`
 * (+15–20 MB between 10k and 100k payments, flat after). The hot pages (users,
 * recent payments, the outbox) fit in far less; older pages are read back
 * from the OS's file cache.
 */
const PAGE_CACHE_KIB = 4096

/** Distinct SQL texts kept compiled: a service's queries are a few dozen; each statement holds native memory. */
const STATEMENT_CACHE = 100

/**
 * Kysely's SQLite driver calls `prepare(sql)` for every query, and
 * better-sqlite3 compiles the SQL again each time (18–32 µs, about 9 times
 * per payment; bench/FINDINGS.md §4). The SQL text of a Kysely query is
 * stable and its values are parameters, so compiled statements are kept by
 * text. Safe on one connection: the driver runs one query at a time, so a
 * statement is never used by two queries at once.
 */
export function cachingStatements (database: Database.Database, size = STATEMENT_CACHE): SqliteDatabase {
  const statements = new Map<string, Database.Statement>()
  return {
    close: () => { statements.clear(); database.close() },
    prepare (sql: string) {
      let stmt = statements.get(sql)
      if (stmt !== undefined) {
        // Least recently used first: a hit moves to the end.
        statements.delete(sql)
      } else {
        stmt = database.prepare(sql)
        if (statements.size >= size) statements.delete(statements.keys().next().value!)
      }
      statements.set(sql, stmt)
      return stmt
    }
  }
}

/**
 * One SQLite file per service. Kysely's SQLite driver has a single connection
 * and serialises transactions on it, so a transaction sees no interleaving
 * from this process; WAL lets readers run during writes.
 */
export function openSqlite<DB> (opts: SqliteOptions): Kysely<DB> {
  mkdirSync(dirname(opts.file), { recursive: true })
  const database = new Database(opts.file)
  database.pragma('journal_mode = WAL')
  database.pragma(`synchronous = ${opts.synchronous}`)
  database.pragma('busy_timeout = 5000')
  database.pragma(`cache_size = -${PAGE_CACHE_KIB}`)
  database.pragma('foreign_keys = ON')
  const db = new Kysely<DB>({ dialect: new SqliteDialect({ database: cachingStatements(database) }) })
  connections.set(db.getExecutor().adapter, handStatements(database))
  return db
}

/**
 * Hand-written statements on the connection under a Kysely that openSqlite
 * opened: the hot steps of a payment (usuarios/store/sqlite-hot.ts,
 * pagos/store/sqlite-hot.ts, the group commit's savepoints) run them
 * directly, synchronously, instead of building, compiling and awaiting a
 * Kysely query for each (about a tenth of usuarios' and pagos' CPU under
 * load went to Kysely's query builder; bench/FINDINGS.md, issue 16).
 *
 * `statement(text)` compiles a text once and keeps it for the life of the
 * connection (a service has a handful of them). They run on the one
 * connection Kysely serialises its transactions on, so a write must run
 * inside a unit of work of the group commit (lib/storage/group-commit.ts),
 * which holds that connection in a transaction; a read elsewhere sees
 * what the transaction in progress (if any) has written so far.
 */
export interface SqliteStatements {
  statement: (text: string) => Database.Statement
}

/** By the Kysely adapter, which `withTables`, plugins and transactions of one database share. */
const connections = new WeakMap<object, SqliteStatements>()

function handStatements (database: Database.Database): SqliteStatements {
  const statements = new Map<string, Database.Statement>()
  return {
    statement (text) {
      let stmt = statements.get(text)
      if (stmt === undefined) {
        stmt = database.prepare(text)
        statements.set(text, stmt)
      }
      return stmt
    }
  }
}

/** The hand-written statements of a database openSqlite opened (or a transaction on it); undefined for any other (PostgreSQL). */
export function sqliteStatements (db: Kysely<any>): SqliteStatements | undefined {
  return connections.get(db.getExecutor().adapter)
}

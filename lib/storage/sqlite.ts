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
  return new Kysely<DB>({ dialect: new SqliteDialect({ database: cachingStatements(database) }) })
}

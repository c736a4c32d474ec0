import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { Kysely, SqliteDialect } from 'kysely'

export interface SqliteOptions {
  file: string
  synchronous: 'FULL' | 'NORMAL'
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
  database.pragma('foreign_keys = ON')
  return new Kysely<DB>({ dialect: new SqliteDialect({ database }) })
}


import type t from 'tap'
import pino from 'pino'
import type { App } from '../../lib/http/http-app.js'
import { createMemoryBroker, type MemoryBroker } from '../../lib/messaging/memory-broker.js'
import { migrate, openDatabase, type DialectName } from '../../lib/storage/db.js'
import { buildPagosApp } from '../../pagos/app.js'
import { loadPagosConfig } from '../../pagos/config.js'
import { migrations as pagosMigrations } from '../../pagos/store/migrations.js'
import type { PagosDatabase } from '../../pagos/store/schema.js'
import { buildUsuariosApp } from '../../usuarios/app.js'
import { loadUsuariosConfig } from '../../usuarios/config.js'
import { migrations as usuariosMigrations } from '../../usuarios/store/migrations.js'
import type { UsuariosDatabase } from '../../usuarios/store/schema.js'
import type { Kysely, Migration } from 'kysely'
import { createTestDatabase, postgresSkipped } from '../../lib/launch/postgres.js'

/** What a `t.test` callback receives (the root `t` is a TAP, a subtest is a Test; both fit). */
export type Test = Parameters<Parameters<typeof t.test>[0]>[0]

export const silent = pino({ level: 'silent' })

/**
 * usuarios on a fresh database in a test directory, on an in-memory broker
 * (connected unless the test passes one that is away: then the outbox keeps
 * what it writes); closed at teardown.
 */
export async function usuariosApp (t: Test, env: Record<string, string> = {}, broker: MemoryBroker = createMemoryBroker()): Promise<{ app: App, file: string, broker: MemoryBroker }> {
  const dir = t.testdir()
  const file = `${dir}/usuarios.sqlite`
  const config = loadUsuariosConfig({ DATA_DIR: dir, LOG_DIR: dir, USUARIOS_DB_FILE: file, ...env })
  const app = await buildUsuariosApp({ config, logger: silent, broker })
  t.teardown(async () => { await app.close() })
  await app.ready()
  return { app, file, broker }
}

/** pagos on a fresh database in a test directory, on an in-memory broker (as usuariosApp); closed at teardown. */
export async function pagosApp (t: Test, env: Record<string, string> = {}, broker: MemoryBroker = createMemoryBroker()): Promise<{ app: App, file: string, broker: MemoryBroker }> {
  const dir = t.testdir()
  const file = `${dir}/pagos.sqlite`
  const config = loadPagosConfig({ DATA_DIR: dir, LOG_DIR: dir, PAGOS_DB_FILE: file, ...env })
  const app = await buildPagosApp({ config, logger: silent, broker })
  t.teardown(async () => { await app.close() })
  await app.ready()
  return { app, file, broker }
}

/** An in-memory broker that is away: publishes fail, so outbox rows stay where a test can read them. */
export function brokerAway (): MemoryBroker {
  return createMemoryBroker({ connected: false })
}

/** The dialects the store suites run against: both, unless SKIP_POSTGRES=1. */
export const dialects: DialectName[] = postgresSkipped ? ['sqlite'] : ['sqlite', 'postgres']

/**
 * A database URL for a service of its own: undefined (a SQLite file) or a
 * fresh PostgreSQL database, dropped at teardown.
 */
export async function freshDatabaseUrl (t: Test, dialect: DialectName, label: string): Promise<string | undefined> {
  if (dialect === 'sqlite') return undefined
  const pgdb = await createTestDatabase(label)
  t.teardown(pgdb.drop)
  return pgdb.url
}

/**
 * Opens a database as a service does (SQLite file, or a PostgreSQL pool on
 * `url`), migrated; destroyed at teardown. Two calls with one URL are two
 * instances sharing a database.
 */
export async function openTestDb<DB> (t: Test, migrations: Record<string, Migration>, at: { dialect: 'sqlite', file: string } | { dialect: 'postgres', url: string }, poolMax = 5): Promise<Kysely<DB>> {
  const db = openDatabase<DB>({
    url: at.dialect === 'postgres' ? at.url : undefined,
    sqliteFile: at.dialect === 'sqlite' ? at.file : '',
    synchronous: 'NORMAL',
    poolMax,
    name: 'test',
    logger: silent
  })
  t.teardown(async () => { await db.destroy() })
  await migrate(db, migrations)
  return db
}

/** `where`: a dialect (a fresh database of that kind) or the path of an existing SQLite file. */
async function freshDb<DB> (t: Test, migrations: Record<string, Migration>, where: DialectName | string, service: string): Promise<Kysely<DB>> {
  if (where === 'postgres') return await openTestDb<DB>(t, migrations, { dialect: 'postgres', url: (await freshDatabaseUrl(t, 'postgres', service))! })
  return await openTestDb<DB>(t, migrations, { dialect: 'sqlite', file: where === 'sqlite' ? `${t.testdir()}/${service}.sqlite` : where })
}

/** A migrated usuarios database (a fresh one of the dialect, or the SQLite file given); destroyed at teardown. */
export async function usuariosDb (t: Test, where: DialectName | string = 'sqlite'): Promise<Kysely<UsuariosDatabase>> {
  return await freshDb<UsuariosDatabase>(t, usuariosMigrations, where, 'usuarios')
}

/** A migrated pagos database (a fresh one of the dialect, or the SQLite file given); destroyed at teardown. */
export async function pagosDb (t: Test, where: DialectName | string = 'sqlite'): Promise<Kysely<PagosDatabase>> {
  return await freshDb<PagosDatabase>(t, pagosMigrations, where, 'pagos')
}

/** Every error body: JSON, an `error` string, never a stack trace. */
export function assertJsonError (t: Test, res: { statusCode: number, headers: Record<string, unknown>, body: string }, status: number, what = ''): any {
  if (!t.equal(res.statusCode, status, `${what} answers ${status}`, { body: res.body })) return JSON.parse(res.body)
  t.match(String(res.headers['content-type']), /^application\/json/, `${what} error is JSON`)
  const body = JSON.parse(res.body)
  t.type(body.error, 'string', `${what} has an error message`)
  t.notOk('stack' in body, `${what} shows no stack`)
  t.notMatch(res.body, /at .*\.(ts|js):\d+/, `${what} leaks no source location`)
  return body
}

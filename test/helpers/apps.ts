import type t from 'tap'
import pino from 'pino'
import type { App } from '../../lib/http.js'
import { migrate, openSqlite } from '../../lib/sqlite.js'
import { buildPagosApp } from '../../pagos/app.js'
import { loadPagosConfig } from '../../pagos/config.js'
import { migrations as pagosMigrations } from '../../pagos/store/migrations.js'
import type { PagosDatabase } from '../../pagos/store/schema.js'
import { buildUsuariosApp } from '../../usuarios/app.js'
import { loadUsuariosConfig } from '../../usuarios/config.js'
import { migrations as usuariosMigrations } from '../../usuarios/store/migrations.js'
import type { UsuariosDatabase } from '../../usuarios/store/schema.js'
import type { Kysely } from 'kysely'

/** What a `t.test` callback receives (the root `t` is a TAP, a subtest is a Test; both fit). */
export type Test = Parameters<Parameters<typeof t.test>[0]>[0]

export const silent = pino({ level: 'silent' })

/** usuarios on a fresh database in a test directory, without a broker; closed at teardown. */
export async function usuariosApp (t: Test, env: Record<string, string> = {}): Promise<{ app: App, file: string }> {
  const dir = t.testdir()
  const file = `${dir}/usuarios.sqlite`
  const config = loadUsuariosConfig({ DATA_DIR: dir, LOG_DIR: dir, USUARIOS_DB_FILE: file, ...env })
  const app = await buildUsuariosApp({ config, logger: silent, messaging: false })
  t.teardown(async () => { await app.close() })
  await app.ready()
  return { app, file }
}

/** pagos on a fresh database in a test directory, without a broker; closed at teardown. */
export async function pagosApp (t: Test, env: Record<string, string> = {}): Promise<{ app: App, file: string }> {
  const dir = t.testdir()
  const file = `${dir}/pagos.sqlite`
  const config = loadPagosConfig({ DATA_DIR: dir, LOG_DIR: dir, PAGOS_DB_FILE: file, ...env })
  const app = await buildPagosApp({ config, logger: silent, messaging: false })
  t.teardown(async () => { await app.close() })
  await app.ready()
  return { app, file }
}

/** A migrated usuarios database of its own; destroyed at teardown. */
export async function usuariosDb (t: Test, file = `${t.testdir()}/usuarios.sqlite`): Promise<Kysely<UsuariosDatabase>> {
  const db = openSqlite<UsuariosDatabase>({ file, synchronous: 'NORMAL' })
  t.teardown(async () => { await db.destroy() })
  await migrate(db, usuariosMigrations)
  return db
}

/** A migrated pagos database; destroyed at teardown. */
export async function pagosDb (t: Test, file = `${t.testdir()}/pagos.sqlite`): Promise<Kysely<PagosDatabase>> {
  const db = openSqlite<PagosDatabase>({ file, synchronous: 'NORMAL' })
  t.teardown(async () => { await db.destroy() })
  await migrate(db, pagosMigrations)
  return db
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

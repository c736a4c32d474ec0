import { sql } from 'kysely'
import t from 'tap'
import { dialectOf, openDatabase } from '../../lib/storage/db.js'
import { loadPagosConfig } from '../../pagos/config.js'
import { loadUsuariosConfig } from '../../usuarios/config.js'
import { dialects, freshDatabaseUrl, silent } from '../helpers/apps.js'

t.test('USUARIOS_DATABASE_URL / PAGOS_DATABASE_URL choose PostgreSQL; absent, SQLite', async (t) => {
  t.equal(loadUsuariosConfig({}).USUARIOS_DATABASE_URL, undefined)
  t.equal(loadPagosConfig({}).PAGOS_DATABASE_URL, undefined)
  t.equal(loadUsuariosConfig({}).DATABASE_POOL_MAX, 10)
  const u = loadUsuariosConfig({ USUARIOS_DATABASE_URL: 'postgres://pagos:x@db:5432/usuarios', DATABASE_POOL_MAX: '20' })
  t.equal(u.USUARIOS_DATABASE_URL, 'postgres://pagos:x@db:5432/usuarios')
  t.equal(u.DATABASE_POOL_MAX, 20)
  t.equal(loadPagosConfig({ PAGOS_DATABASE_URL: 'postgresql://db/pagos' }).PAGOS_DATABASE_URL, 'postgresql://db/pagos')
})

t.test('a database URL that is not postgres:// stops the service, naming the variable', async (t) => {
  t.throws(() => loadUsuariosConfig({ USUARIOS_DATABASE_URL: 'mysql://db/usuarios' }), { message: /^Invalid environment variable USUARIOS_DATABASE_URL=/ })
  t.throws(() => loadPagosConfig({ PAGOS_DATABASE_URL: 'data/pagos.sqlite' }), { message: /^Invalid environment variable PAGOS_DATABASE_URL=/ })
  t.throws(() => loadPagosConfig({ DATABASE_POOL_MAX: '0' }), { message: /^Invalid environment variable DATABASE_POOL_MAX=/ })
})

for (const dialect of dialects) {
  t.test(`openDatabase: ${dialect}`, async (t) => {
    const url = await freshDatabaseUrl(t, dialect, 'open')
    const db = openDatabase<any>({ url, sqliteFile: `${t.testdir()}/x.sqlite`, synchronous: 'NORMAL', poolMax: 2, name: 'test', logger: silent })
    t.teardown(async () => { await db.destroy() })
    t.equal(dialectOf(db), dialect)
    await db.transaction().execute(async (trx) => { t.equal(dialectOf(trx), dialect, 'inside a transaction too') })
  })
}

t.test('postgres: data statements are named prepared statements; one a migration made stale fails once, then runs again', { skip: !dialects.includes('postgres') && 'SKIP_POSTGRES=1' }, async (t) => {
  const url = await freshDatabaseUrl(t, 'postgres', 'named')
  // One connection, so that every query below uses the same prepared statements.
  const db = openDatabase<any>({ url, sqliteFile: '', synchronous: 'NORMAL', poolMax: 1, name: 'test', logger: silent })
  const other = openDatabase<any>({ url, sqliteFile: '', synchronous: 'NORMAL', poolMax: 1, name: 'other', logger: silent })
  t.teardown(async () => { await db.destroy(); await other.destroy() })
  await sql`create table filas (id integer primary key, texto text)`.execute(db)
  await db.insertInto('filas').values({ id: 1, texto: 'a' }).execute()
  const read = async (): Promise<unknown[]> => await db.selectFrom('filas').selectAll().execute()
  t.same(await read(), [{ id: 1, texto: 'a' }])
  const prepared = await sql<{ name: string, statement: string }>`select name, statement from pg_prepared_statements`.execute(db)
  t.ok(prepared.rows.some((r) => r.statement.startsWith('select * from "filas"')), 'the select is prepared on the connection, by name', { prepared: prepared.rows })
  t.ok(prepared.rows.every((r) => /^s\d+$/.test(r.name)), 'named s1, s2, …')
  // Another instance migrates: the prepared `select *` no longer fits the table.
  await sql`alter table filas add column extra text`.execute(other)
  await t.rejects(read(), { code: '0A000' }, 'the stale statement fails once, as a transient database error')
  t.same(await read(), [{ id: 1, texto: 'a', extra: null }], 'the connection was replaced: the next read prepares again')
})

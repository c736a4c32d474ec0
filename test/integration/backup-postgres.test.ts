import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { migrations as pagosMigrations } from '../../pagos/store/migrations.js'
import { createCuentasStore } from '../../usuarios/store/cuentas-store.js'
import { migrations as usuariosMigrations } from '../../usuarios/store/migrations.js'
import type { UsuariosDatabase } from '../../usuarios/store/schema.js'
import { freshDatabaseUrl, openTestDb } from '../helpers/apps.js'
import { createTestDatabase, postgresSkipped } from '../../lib/launch/postgres.js'

/* deploy/backup.sh with *_DATABASE_URL set: pg_dump, checked, and a dump pg_restore brings back. */

const run = promisify(execFile)
const ROOT = resolve(import.meta.dirname, '..', '..')
const has = async (c: string): Promise<boolean> => await run('sh', ['-c', `command -v ${c}`]).then(() => true, () => false)
const skip = postgresSkipped
  ? 'SKIP_POSTGRES=1'
  : !(await has('pg_dump')) || !(await has('pg_restore')) ? 'no pg_dump/pg_restore (postgresql-client)' : !existsSync(join(ROOT, 'dist', 'lib', 'cli', 'backup.js')) ? 'no build' : false

t.test('backup.sh dumps PostgreSQL databases with pg_dump, and the dump restores', { skip }, async (t) => {
  const usuariosUrl = (await freshDatabaseUrl(t, 'postgres', 'bku'))!
  const pagosUrl = (await freshDatabaseUrl(t, 'postgres', 'bkp'))!
  // The services' tables, as their migrations make them, in the two databases backed up.
  const usuarios = await openTestDb<UsuariosDatabase>(t, usuariosMigrations, { dialect: 'postgres', url: usuariosUrl })
  await openTestDb(t, pagosMigrations, { dialect: 'postgres', url: pagosUrl })
  await createCuentasStore(usuarios).create('Respaldo', 12_345)

  const dir = t.testdir()
  const backup = await run('bash', [join(ROOT, 'deploy', 'backup.sh')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, BACKUP_DIR: dir, USUARIOS_DATABASE_URL: usuariosUrl, PAGOS_DATABASE_URL: pagosUrl }
  }).then(({ stdout }) => ({ code: 0, output: stdout }), (err: { code: number, stdout: string, stderr: string }) => ({ code: err.code, output: err.stdout + err.stderr }))
  t.equal(backup.code, 0, 'backup.sh succeeds', { output: backup.output })
  const snapshot = backup.output.trim().split('\n').at(-1)!
  const manifest = JSON.parse(readFileSync(join(snapshot, 'manifest.json'), 'utf8'))
  t.match(manifest.servicios, { usuarios: { archivo: 'usuarios.dump', tipo: 'pg_dump' }, pagos: { archivo: 'pagos.dump', tipo: 'pg_dump' } })
  const verify = await run(process.execPath, [join(ROOT, 'dist', 'lib', 'cli', 'backup.js'), 'verify', snapshot]).then(() => 0, (err: { code: number }) => err.code)
  t.equal(verify, 0, 'the snapshot verifies')

  const restore = await run('bash', [join(ROOT, 'deploy', 'restore.sh'), snapshot], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, BACKUP_DIR: dir, USUARIOS_DATABASE_URL: usuariosUrl, PAGOS_DATABASE_URL: pagosUrl }
  }).then(({ stdout }) => ({ code: 0, output: stdout }), (err: { code: number, stdout: string, stderr: string }) => ({ code: err.code, output: err.stdout + err.stderr }))
  t.not(restore.code, 0, 'restore.sh does not restore a database it did not copy')
  t.match(restore.output, /restore its pg_dump with pg_restore/, 'and says how instead')
  t.notMatch(restore.output, /Stopping/, 'before stopping anything')

  const target = await createTestDatabase('bkr')
  t.teardown(target.drop)
  await run('pg_restore', ['--no-owner', '--single-transaction', `--dbname=${target.url}`, join(snapshot, 'usuarios.dump')])
  const { stdout } = await run('psql', [target.url, '-tAc', "select nombre || ' ' || saldo_centimos from usuarios order by id"])
  t.same(stdout.trim().split('\n'), ['Respaldo 12345'], 'pg_restore brings the rows back')
})

import { execFile } from 'node:child_process'
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import Database from 'better-sqlite3'
import t from 'tap'

/*
 * restore.sh in an installed copy, the way it drives systemd: this machine's
 * PID 1 is not systemd, so `systemctl` and `ps` are stand-ins on PATH that
 * record every call and play a unit that takes a while to stop (active,
 * then deactivating, then inactive). The real thing is booted in the boot
 * test; this one checks what restore.sh asks of systemd and that it waits.
 */

const run = promisify(execFile)
const ROOT = resolve(import.meta.dirname, '..', '..')
const skip = existsSync(join(ROOT, 'dist', 'lib', 'cli', 'backup.js')) ? false : 'no build: run npm run build'

/** A SQLite file with one table and one row saying which it is. */
function database (file: string, what: string): void {
  const db = new Database(file)
  db.exec('create table cual (nombre text)')
  db.prepare('insert into cual values (?)').run(what)
  db.close()
}
const which = (file: string): string => {
  const db = new Database(file, { readonly: true })
  try { return (db.prepare('select nombre from cual').get() as { nombre: string }).nombre } finally { db.close() }
}

async function installed (t: Parameters<Parameters<typeof t.test>[1]>[0], opts: { stopsAfter: number, stopTimeout: number }) {
  const root = t.testdir()
  const app = join(root, 'opt')
  const conf = join(root, 'etc')
  const data = join(root, 'var')
  const bin = join(root, 'bin')
  for (const d of [app, conf, join(data, 'usuarios'), join(data, 'pagos'), join(data, 'backups'), bin]) mkdirSync(d, { recursive: true })
  cpSync(join(ROOT, 'deploy'), join(app, 'deploy'), { recursive: true })
  symlinkSync(join(ROOT, 'dist'), join(app, 'dist'))
  writeFileSync(join(app, 'deploy', 'installed.env'), `PAGOS_CONFIG_DIR=${conf}\nNODE=${process.execPath}\n`)

  // Health answers 200 on one port for the three services.
  const server: Server = createServer((_req, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"status":"ok"}') })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  const port = (server.address() as { port: number }).port
  writeFileSync(join(conf, 'common.env'), `HOST=127.0.0.1\nUSUARIOS_PORT=${port}\nPAGOS_PORT=${port}\nGATEWAY_PORT=${port}\n`)
  writeFileSync(join(conf, 'usuarios.env'), `DATA_DIR=${data}/usuarios\n`)
  writeFileSync(join(conf, 'pagos.env'), `DATA_DIR=${data}/pagos\n`)
  writeFileSync(join(conf, 'gateway.env'), 'GATEWAY_HOST=0.0.0.0\n')
  writeFileSync(join(conf, 'backup.env'), `BACKUP_DIR=${data}/backups\nBACKUP_KEEP=3\n`)

  // The live databases (with a WAL file, as a running service leaves them) and a snapshot of other ones.
  database(join(data, 'usuarios', 'usuarios.sqlite'), 'usuarios vivo')
  writeFileSync(join(data, 'usuarios', 'usuarios.sqlite-wal'), '')
  database(join(data, 'pagos', 'pagos.sqlite'), 'pagos vivo')
  const staging = join(root, 'staging')
  mkdirSync(staging)
  database(join(staging, 'usuarios.sqlite'), 'usuarios copia')
  database(join(staging, 'pagos.sqlite'), 'pagos copia')
  const take = await run(process.execPath, [join(ROOT, 'dist', 'lib', 'cli', 'backup.js'), 'take', '--dir', join(data, 'backups'), '--usuarios', join(staging, 'usuarios.sqlite'), '--pagos', join(staging, 'pagos.sqlite')])
  const snapshot = take.stdout.trim().split('\n').at(-1)!

  // systemctl: records its calls; each unit reads active until stopped, then
  // deactivating for `stopsAfter` looks, then inactive.
  const log = join(root, 'systemctl.log')
  writeFileSync(join(bin, 'systemctl'), `#!/usr/bin/env bash
printf '%s\\n' "$*" >>${JSON.stringify(log)}
state=${JSON.stringify(root)}/state.$2
case $1 in
  stop) for u in "\${@:2}"; do echo 0 >"${root}/state.$u"; done ;;
  start) for u in "\${@:2}"; do rm -f "${root}/state.$u"; done ;;
  is-active)
    if [[ ! -e $state ]]; then echo active; exit 0; fi
    n=$(cat "$state"); echo $((n + 1)) >"$state"
    if ((n < ${opts.stopsAfter})); then echo deactivating; exit 0; fi
    echo inactive; exit 3 ;;
esac
`)
  writeFileSync(join(bin, 'ps'), `#!/usr/bin/env bash
if [[ "$*" == "-p 1 -o comm=" ]]; then echo systemd; else exec /bin/ps "$@"; fi
`)
  chmodSync(join(bin, 'systemctl'), 0o755)
  chmodSync(join(bin, 'ps'), 0o755)
  const restore = async (arg: string): Promise<{ code: number, output: string }> =>
    await run('bash', [join(app, 'deploy', 'restore.sh'), arg], { env: { PATH: `${bin}:${process.env.PATH}`, HOME: process.env.HOME, STOP_TIMEOUT: String(opts.stopTimeout), START_TIMEOUT: '10' } }).then(
      ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
      (err: { code: number, stdout: string, stderr: string }) => ({ code: err.code, output: err.stdout + err.stderr }))
  const calls = (): string[] => existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []
  return { data, snapshot, restore, calls }
}

const UNITS = ['pagos-gateway.service', 'pagos-usuarios.service', 'pagos-pagos.service']

t.test('installed: restore.sh stops the units by name, waits until they are inactive, swaps the files, starts them', { skip }, async (t) => {
  const box = await installed(t, { stopsAfter: 3, stopTimeout: 30 })
  const r = await box.restore('latest')
  t.equal(r.code, 0, 'succeeds', { output: r.output })
  const calls = box.calls()
  t.equal(calls[0], `stop pagos.target ${UNITS.join(' ')}`, 'stops the target and each service by name (the target alone returns before they stop)')
  for (const unit of UNITS) {
    t.equal(calls.filter((c) => c === `is-active ${unit}`).length, 4, `${unit}: looked at until inactive (3 × deactivating, then inactive)`)
  }
  const start = calls.findIndex((c) => c.startsWith('start '))
  t.ok(start > calls.lastIndexOf(`is-active ${UNITS.at(-1)!}`), 'starts only after every unit is inactive')
  t.equal(calls[start], `start pagos.target ${UNITS.join(' ')}`)
  t.equal(which(join(box.data, 'usuarios', 'usuarios.sqlite')), 'usuarios copia', 'usuarios restored')
  t.equal(which(join(box.data, 'pagos', 'pagos.sqlite')), 'pagos copia', 'pagos restored')
  for (const svc of ['usuarios', 'pagos']) {
    const aside = readdirSync(join(box.data, svc)).filter((n) => n.startsWith('pre-restore-'))
    t.equal(aside.length, 1, `${svc}: the replaced files set aside`)
    t.equal(which(join(box.data, svc, aside[0]!, `${svc}.sqlite`)), `${svc} vivo`, `${svc}: the live database kept, not deleted`)
  }
  t.ok(readdirSync(join(box.data, 'usuarios', readdirSync(join(box.data, 'usuarios')).find((n) => n.startsWith('pre-restore-'))!)).includes('usuarios.sqlite-wal'), 'with its WAL')
  t.match(r.output, /usuarios: ready/, 'and checks health')
})

t.test('installed: a unit that does not stop in time leaves the data as it was', { skip }, async (t) => {
  const box = await installed(t, { stopsAfter: 1_000_000, stopTimeout: 3 })
  const r = await box.restore(box.snapshot)
  t.not(r.code, 0, 'fails')
  t.match(r.output, /pagos-gateway\.service is still deactivating after 3s: the data files are unchanged/)
  t.notOk(box.calls().some((c) => c.startsWith('start ')), 'starts nothing')
  t.equal(which(join(box.data, 'usuarios', 'usuarios.sqlite')), 'usuarios vivo')
  t.same(readdirSync(join(box.data, 'usuarios')).filter((n) => n.startsWith('pre-restore-')), [], 'nothing moved')
})

import { execFile } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { freePort } from '../../lib/launch/net.js'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import Database from 'better-sqlite3'
import t from 'tap'
import { migrations as usuariosMigrations } from '../../usuarios/store/migrations.js'
import { call } from '../helpers/http.js'
import { waitFor } from '../helpers/poll.js'
import { AMQP_URL, deleteTopology, uniquePrefix } from '../../lib/launch/system.js'

/*
 * deploy/backup.sh and deploy/restore.sh for real, in a checkout whose
 * services run through deploy/start_services.sh: a snapshot taken while
 * payments flow, restored over the running system. The checkout is a
 * folder of its own (its deploy/ copied, dist/ linked to this build), so its
 * data, logs and pid files are this test's alone.
 */

// Two starts of the three services, three backups and a restore on a shared machine: more than tap's default per file.
t.setTimeout(600_000)

const run = promisify(execFile)
const ROOT = resolve(import.meta.dirname, '..', '..')
const skip = existsSync(join(ROOT, 'dist', 'lib', 'cli', 'backup.js')) ? false : 'no build: run npm run build'

const dir = mkdtempSync(join(tmpdir(), 'pagos-backup-'))
const co = join(dir, 'checkout')
const prefix = uniquePrefix('backup')
const [usuariosPort, pagosPort, gatewayPort] = [await freePort(), await freePort(), await freePort()]
const env: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  NODE: process.execPath,
  USUARIOS_PORT: String(usuariosPort),
  PAGOS_PORT: String(pagosPort),
  GATEWAY_PORT: String(gatewayPort),
  GATEWAY_HOST: '127.0.0.1',
  AMQP_URL,
  AMQP_PREFIX: prefix,
  LOG_LEVEL: 'info',
  // Payments stay pendiente a while (so a snapshot holds some), and one
  // pendiente over 2 s is asked again.
  PROCESADOR_LATENCIA_MS: '400',
  PAGO_REENVIO_SEGUNDOS: '2',
  START_TIMEOUT: '60'
}
const usuarios = `http://127.0.0.1:${usuariosPort}`
const pagos = `http://127.0.0.1:${pagosPort}`

/** A checkout as deploy/ expects one, built and with its npm deps (so start_services.sh neither builds nor runs npm ci). */
function makeCheckout (): void {
  mkdirSync(co)
  cpSync(join(ROOT, 'deploy'), join(co, 'deploy'), { recursive: true })
  symlinkSync(join(ROOT, 'dist'), join(co, 'dist'))
  for (const f of ['package.json', 'package-lock.json']) cpSync(join(ROOT, f), join(co, f))
  const old = new Date('2020-01-01')
  utimesSync(join(co, 'package-lock.json'), old, old)
  mkdirSync(join(co, 'node_modules'))
  writeFileSync(join(co, 'node_modules', '.package-lock.json'), '{}')
  if (!existsSync(join(ROOT, 'dist', '.build-stamp'))) writeFileSync(join(ROOT, 'dist', '.build-stamp'), '')
}

async function sh (script: string, args: string[] = [], extra: NodeJS.ProcessEnv = {}): Promise<{ code: number, output: string }> {
  return await run('bash', [join(co, 'deploy', script), ...args], { cwd: co, env: { ...env, ...extra }, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 }).then(
    ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
    (err: { code: number, stdout: string, stderr: string }) => ({ code: err.code, output: err.stdout + err.stderr }))
}

const cents = (monto: number): number => Math.round(monto * 100)
const lastLine = (s: string): string => s.trim().split('\n').at(-1)!
const snapshotsIn = (d: string): string[] => existsSync(d) ? readdirSync(d).filter((n) => /^\d{8}T\d{6}Z(-\d+)?$/.test(n)).sort() : []

interface Aceptado { usuarioId: number, id: string, montoCentimos: number, at: number }

t.test('backup and restore while payments flow', { skip, timeout: 600_000 }, async (t) => {
  makeCheckout()
  t.teardown(async () => {
    await sh('stop_services.sh')
    await deleteTopology(prefix).catch(() => {})
    rmSync(dir, { recursive: true, force: true })
  })
  const started = await sh('start_services.sh')
  t.equal(started.code, 0, 'start_services.sh brings the three services up', { output: started.output })
  if (started.code !== 0) return

  const iniciales = new Map<number, number>([[1, 50_000], [2, 70_000]])
  for (let i = 0; i < 5; i++) {
    const r = await call('POST', `${usuarios}/usuarios`, { nombre: `Copia ${i}`, saldo: 1000 })
    t.equal(r.status, 201)
    iniciales.set(r.body.id, 100_000)
  }
  const ids = [...iniciales.keys()].filter((id) => id > 2)

  // Six clients pay until told to stop; every 202 is remembered with when it arrived.
  const aceptados: Aceptado[] = []
  let parar = false
  const montos = [0.5, 1, 1.25, 2]
  const clientes = Array.from({ length: 6 }, async (_, c) => {
    for (let n = 0; !parar; n++) {
      const usuarioId = ids[(c + n) % ids.length]!
      const monto = montos[(c * 7 + n) % montos.length]!
      const r = await call('POST', `${usuarios}/usuarios/${usuarioId}/pagar`, { monto })
      if (r.status === 202) aceptados.push({ usuarioId, id: r.body.pago.id, montoCentimos: cents(monto), at: Date.now() })
      else if (r.status !== 409) throw new Error(`pagar answered ${r.status}: ${JSON.stringify(r.body)}`)
    }
  })
  const detener = async (): Promise<void> => { parar = true; await Promise.all(clientes) }
  t.teardown(detener)

  await waitFor('30 payments accepted', () => aceptados.length >= 30, { timeoutMs: 60_000 })
  const antes = Date.now()
  const backup = await sh('backup.sh')
  const despues = Date.now()
  t.equal(backup.code, 0, 'backup.sh succeeds while payments flow', { output: backup.output })
  const snapshot = lastLine(backup.output)
  t.match(snapshot, new RegExp(`^${join(co, 'backups')}/\\d{8}T\\d{6}Z$`), `a snapshot named with a UTC timestamp: ${snapshot}`)
  const aceptadosAlFinal = aceptados.length
  await waitFor('10 more payments accepted after the snapshot', () => aceptados.length >= aceptadosAlFinal + 10, { timeoutMs: 60_000 })
  await detener()
  t.ok(existsSync(join(snapshot, 'usuarios.sqlite')) && existsSync(join(snapshot, 'pagos.sqlite')) && existsSync(join(snapshot, 'manifest.json')), 'both databases and a manifest')
  const manifest = JSON.parse(readFileSync(join(snapshot, 'manifest.json'), 'utf8'))
  t.match(manifest, { formato: 1, servicios: { usuarios: { tipo: 'sqlite', migracion: Object.keys(usuariosMigrations).sort().at(-1) }, pagos: { tipo: 'sqlite' } } })

  // What the snapshot holds, read from the file itself.
  const copia = new Database(join(snapshot, 'usuarios.sqlite'), { readonly: true })
  const enCopia = new Map((copia.prepare('select id, estado from pagos').all() as Array<{ id: string, estado: string }>).map((r) => [r.id, r.estado]))
  copia.close()
  const pendientesEnCopia = [...enCopia].filter(([, e]) => e === 'pendiente').map(([id]) => id)
  t.ok(pendientesEnCopia.length > 0, `the snapshot caught ${pendientesEnCopia.length} payments pendiente (payments were in flight)`)
  const antesDeCopia = aceptados.filter((a) => a.at < antes)
  t.ok(antesDeCopia.every((a) => enCopia.has(a.id)), `all ${antesDeCopia.length} payments accepted before backup.sh started are in the snapshot`)

  // Everything settles before the restore: the live system has moved on past the snapshot.
  await waitFor('the live system quiet', async () => (await call('GET', `${usuarios}/health/ready`)).body.outboxPendientes === 0 &&
    (await Promise.all(ids.map(async (id) => (await call('GET', `${usuarios}/usuarios/${id}/pagos?estado=pendiente`)).body.total))).every((n) => n === 0), { timeoutMs: 60_000, intervalMs: 200 })

  const restore = await sh('restore.sh', [snapshot.split('/').at(-1)!])
  t.equal(restore.code, 0, 'restore.sh succeeds', { output: restore.output })
  t.match(restore.output, /Stopping usuarios/, 'it stopped the services')
  const aside = readdirSync(join(co, 'data')).filter((n) => n.startsWith('pre-restore-'))
  t.equal(aside.length, 1, 'the files it replaced are set aside')
  t.same(readdirSync(join(co, 'data', aside[0]!)).filter((n) => n.endsWith('.sqlite')).sort(), ['pagos.sqlite', 'usuarios.sqlite'], 'both databases, kept')
  t.equal((await call('GET', `${usuarios}/health/ready`)).status, 200, 'usuarios ready after the restore')
  t.equal((await call('GET', `http://127.0.0.1:${gatewayPort}/health`)).status, 200, 'the gateway ready after the restore')

  for (const a of antesDeCopia) {
    const r = await call('GET', `${usuarios}/usuarios/${a.usuarioId}/pagos/${a.id}`)
    if (r.status !== 200) t.fail(`payment ${a.id}, accepted before the backup, is missing after the restore`)
  }
  t.pass(`all ${antesDeCopia.length} payments accepted before the backup are there`)
  const despuesDeCopia = aceptados.filter((a) => a.at > despues)
  const perdidos = await Promise.all(despuesDeCopia.map(async (a) => (await call('GET', `${usuarios}/usuarios/${a.usuarioId}/pagos/${a.id}`)).status))
  t.ok(despuesDeCopia.length > 0 && perdidos.every((s) => s === 404), `the ${despuesDeCopia.length} payments accepted after the backup are not (the data really is the snapshot's)`)

  await waitFor('every payment pendiente in the snapshot settled by the re-send sweep', async () => {
    const estados = await Promise.all(pendientesEnCopia.map(async (id) => (await call('GET', `${pagos}/pagos/${id}`)).status === 200))
    return estados.every(Boolean) && (await Promise.all(ids.map(async (id) => (await call('GET', `${usuarios}/usuarios/${id}/pagos?estado=pendiente`)).body.total))).every((n) => n === 0)
  }, { timeoutMs: 60_000, intervalMs: 250 })
  t.pass(`the ${pendientesEnCopia.length} payments pendiente in the snapshot completed`)
  await waitFor('pagosPendientesVencidos back to 0', async () => (await call('GET', `${usuarios}/health/ready`)).body.pagosPendientesVencidos === 0, { timeoutMs: 30_000 })
  t.match(readFileSync(join(co, 'logs', 'usuarios.log'), 'utf8'), /pago\.solicitado .*reenviado/, 'usuarios says it asked again')

  // The money invariant, for every user: initial − completed − pending = saldo (no top-ups here).
  const lista = (await call('GET', `${usuarios}/usuarios?limit=100`)).body.usuarios as Array<{ id: number, saldo: number }>
  t.equal(lista.length, iniciales.size)
  for (const u of lista) {
    const suyos: Array<{ id: string, estado: string, monto: number }> = []
    for (let offset = 0; ; offset += 100) {
      const page = (await call('GET', `${usuarios}/usuarios/${u.id}/pagos?limit=100&offset=${offset}`)).body
      suyos.push(...page.pagos)
      if (suyos.length >= page.total) break
    }
    const completados = suyos.filter((p) => p.estado === 'completado').reduce((s, p) => s + cents(p.monto), 0)
    const pendientes = suyos.filter((p) => p.estado === 'pendiente').reduce((s, p) => s + cents(p.monto), 0)
    t.equal(cents(u.saldo), iniciales.get(u.id)! - completados - pendientes, `user ${u.id}: saldo = initial − completed − pending`)
    t.ok(u.saldo >= 0 && pendientes === 0, `user ${u.id}: nothing pending, saldo ≥ 0`)
    const enPagos = await Promise.all(suyos.map(async (p) => (await call('GET', `${pagos}/pagos/${p.id}`)).body.estado))
    t.same(enPagos, suyos.map((p) => p.estado), `user ${u.id}: pagos agrees on all ${suyos.length} payments`)
  }

  t.test('BACKUP_KEEP keeps the newest snapshots', async (t) => {
    for (let i = 0; i < 2; i++) {
      const r = await sh('backup.sh', [], { BACKUP_KEEP: '2' })
      t.equal(r.code, 0, `backup ${i + 2}`, { output: r.output })
    }
    const kept = snapshotsIn(join(co, 'backups'))
    t.equal(kept.length, 2, `two kept: ${kept.join(', ')}`)
    t.notOk(kept.includes(snapshot.split('/').at(-1)!), 'the oldest is gone')
    const bad = await sh('backup.sh', [], { BACKUP_KEEP: '0' })
    t.not(bad.code, 0)
    t.match(bad.output, /BACKUP_KEEP must be a whole number/)
  })

  t.test('restore.sh refuses a damaged snapshot and leaves the services running', async (t) => {
    const newest = join(co, 'backups', snapshotsIn(join(co, 'backups')).at(-1)!)
    const damaged = join(dir, 'damaged')
    cpSync(newest, damaged, { recursive: true })
    const file = join(damaged, 'usuarios.sqlite')
    const bytes = readFileSync(file)
    bytes.fill(0x55, 4096, 8192)
    writeFileSync(file, bytes)
    const r = await sh('restore.sh', [damaged])
    t.not(r.code, 0, 'fails')
    t.match(r.output, /not restoring from a snapshot that does not verify/)
    t.notMatch(r.output, /Stopping/, 'nothing was stopped')
    t.equal((await call('GET', `${usuarios}/health/ready`)).status, 200, 'usuarios still serves')
    t.equal(readdirSync(join(co, 'data')).filter((n) => n.startsWith('pre-restore-')).length, 1, 'no file moved')
  })
})

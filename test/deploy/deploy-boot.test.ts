import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { parseApiKeys } from '../../gateway/auth.js'
import { migrations as pagosMigrations } from '../../pagos/store/migrations.js'
import { migrations as usuariosMigrations } from '../../usuarios/store/migrations.js'
import { BUILD_PACKAGES, CCACHE_ENV, CCACHE_HOST_DIR, CCACHE_IN_CONTAINER, NPM_CACHE_IN_CONTAINER, OFFLINE_NPM_ENV, copyHostNode, createContainer, fillNpmCache, nspawnUnavailable, prepareRoot, type ExecResult } from '../helpers/nspawn.js'
import { waitFor } from '../helpers/poll.js'

/*
 * deploy/install.sh under a real systemd: Debian 12 booted with systemd as
 * PID 1 in a systemd-nspawn container (its own network namespace), the
 * install run inside as README says (`cd pagos && sudo deploy/install.sh`),
 * then what an operator sees: units active and not restarting, the gateway
 * answering over the network with the generated key, payments completing,
 * kill -9 survived, check_status.sh, a second install, a reboot, uninstall.
 * First an older release is installed and upgraded over (issue 11).
 *
 * The container has no Internet: Node comes from this machine, npm packages
 * from a cache filled here (npm ci --offline inside), Debian packages through
 * debootstrap --include (the base system is cached under /var/cache/pagos-test).
 * About 7½ minutes on a busy 2-core machine with a cached base system; ccache makes the five builds of better-sqlite3 one.
 */

// Four `npm ci`s compiling better-sqlite3 on a busy 2-core machine, a reboot.
t.setTimeout(2_700_000)

const run = promisify(execFile)
const ROOT = resolve(import.meta.dirname, '..', '..')
/** The release to upgrade from: before the fixes of issue 11 (its gateway dies under the units), with an older package-lock.json. */
const OLD_RELEASE = '8a62bc2'
const SERVICES = ['usuarios', 'pagos', 'gateway'] as const
const UNITS = ['pagos.target', ...SERVICES.map((s) => `pagos-${s}.service`), 'rabbitmq-server.service']
const ENV_FILES = ['common', 'usuarios', 'pagos', 'gateway']
/** Where the "git clone" lives inside, as in README (`git clone ... pagos && cd pagos`). */
const SRC = '/root/pagos'

/** The old release's tree, or why the upgrade part can't run here. */
async function oldRelease (): Promise<{ tar: Buffer, lock: Buffer } | string> {
  const git = async (args: string[], encoding: 'buffer' | 'utf8' = 'utf8') => await run('git', args, { cwd: ROOT, encoding, maxBuffer: 256 * 1024 * 1024 } as never) as unknown as { stdout: Buffer }
  try {
    await git(['rev-parse', '--verify', '--quiet', `${OLD_RELEASE}^{commit}`])
    const tar = (await git(['archive', '--format=tar', OLD_RELEASE], 'buffer')).stdout
    const lock = (await git(['show', `${OLD_RELEASE}:package-lock.json`], 'buffer')).stdout
    return { tar, lock }
  } catch {
    return `commit ${OLD_RELEASE} is not in a git repository here (GIT_DIR): the upgrade from it is not tested`
  }
}

const why = await nspawnUnavailable()

t.test('deploy/install.sh on Debian 12 booted with systemd', { skip: why }, async (t) => {
  const started = Date.now()
  const old = await oldRelease()
  // ccache: the five npm ci below build better-sqlite3 once (minutes each on a busy machine otherwise).
  const root = await prepareRoot({ packages: [...BUILD_PACKAGES, 'ccache', 'rabbitmq-server', 'logrotate'], log: (l) => t.comment(l) })
  mkdirSync(CCACHE_HOST_DIR, { recursive: true })
  const npmCache = await fillNpmCache(ROOT)
  if (typeof old !== 'string') {
    const dir = mkdtempSync(join(root, '..', 'lock-'))
    writeFileSync(join(dir, 'package-lock.json'), old.lock)
    writeFileSync(join(dir, 'package.json'), await run('git', ['show', `${OLD_RELEASE}:package.json`], { cwd: ROOT }).then((r) => r.stdout))
    await fillNpmCache(dir).finally(() => rmSync(dir, { recursive: true, force: true }))
  }
  const box = await createContainer({ root, label: 'pboot', binds: [{ host: npmCache, container: NPM_CACHE_IN_CONTAINER }, { host: CCACHE_HOST_DIR, container: CCACHE_IN_CONTAINER }], log: (l) => t.comment(l) })
  t.teardown(async () => { await box.destroy() })
  copyHostNode(box.root)
  await box.boot()
  t.comment(`booted after ${Math.round((Date.now() - started) / 1000)} s`)

  const at = (path: string) => join(box.root, path)
  const envFiles = () => Object.fromEntries(ENV_FILES.map((f) => [f, readFileSync(at(`etc/pagos/${f}.env`), 'utf8')]))
  const install = async (args = '', env: Record<string, string> = {}): Promise<ExecResult> =>
    await box.sh(`cd ${SRC} && deploy/install.sh ${args}`, { env: { ...OFFLINE_NPM_ENV, ...CCACHE_ENV, ...env }, timeoutMs: 1_200_000 })
  const report = (r: ExecResult) => ({ code: r.code, output: (r.stdout + r.stderr).slice(-6000) })

  /** An HTTP call made inside the container (usuarios' own port is on 127.0.0.1 there). */
  const inside = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number, json: any }> => {
    const args = ['curl', '-sS', '--max-time', '10', '-X', method, '-w', '\n%{http_code}', ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`])]
    if (body !== undefined) args.push('-H', 'content-type: application/json', '--data', JSON.stringify(body))
    const r = await box.exec([...args, `http://127.0.0.1:5004${path}`], { timeoutMs: 20_000 })
    const status = Number(r.stdout.slice(r.stdout.lastIndexOf('\n') + 1))
    const text = r.stdout.slice(0, r.stdout.lastIndexOf('\n'))
    let json: unknown
    try { json = JSON.parse(text) } catch { json = text }
    return { status, json }
  }
  /** An HTTP call from this machine to the gateway, over the container's veth. */
  const gateway = async (path: string, init: { method?: string, key?: string, body?: unknown } = {}): Promise<{ status: number, json: any }> => {
    const headers: Record<string, string> = {}
    if (init.key !== undefined) headers.authorization = `Bearer ${init.key}`
    if (init.body !== undefined) headers['content-type'] = 'application/json'
    const res = await fetch(`http://${box.ip}:5002${path}`, { method: init.method ?? 'GET', headers, body: init.body === undefined ? undefined : JSON.stringify(init.body), signal: AbortSignal.timeout(10_000) })
    const text = await res.text()
    let json: unknown
    try { json = JSON.parse(text) } catch { json = text }
    return { status: res.status, json }
  }
  /** `systemctl show` of one unit, as KEY → value. */
  const show = async (unit: string, props: string[]): Promise<Record<string, string>> => {
    const r = await box.exec(['systemctl', 'show', '-p', props.join(','), unit])
    return Object.fromEntries(r.stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]))
  }
  /** The unit's journal since boot, for failure reports. */
  const journal = async (unit: string): Promise<string> => (await box.exec(['journalctl', '-b', '-u', unit, '--no-pager', '-o', 'short-precise', '-n', '60'])).stdout
  const states = async (): Promise<string[]> => (await box.exec(['systemctl', 'is-active', ...UNITS])).stdout.trim().split('\n')
  const allActive = async () => (await states()).every((s) => s === 'active')
  /** Waits until every unit is active and the gateway answers /health 200 from this machine. */
  const waitUp = async (what: string, timeoutMs = 120_000) => {
    await waitFor(what, async () => await allActive() && (await gateway('/health')).status === 200, { timeoutMs, intervalMs: 500 })
  }
  const pay = async (via: 'inside' | 'gateway', usuario: number, monto: number, key?: string): Promise<string> => {
    const body = { monto, concepto: `boot test ${via}` }
    const res = via === 'inside' ? await inside('POST', `/usuarios/${usuario}/pagar`, body) : await gateway(`/usuarios/${usuario}/pagar`, { method: 'POST', key, body })
    if (res.status !== 202) throw new Error(`pagar answered ${res.status}: ${JSON.stringify(res.json)}`)
    const id = res.json.pago.id as string
    await waitFor(`payment ${id} to complete`, async () => {
      const r = via === 'inside' ? await inside('GET', `/usuarios/${usuario}/pagos/${id}`) : await gateway(`/usuarios/${usuario}/pagos/${id}`, { key })
      return r.json.estado === 'completado'
    }, { timeoutMs: 60_000, intervalMs: 250 })
    return id
  }
  /** What the users and their payments look like (through usuarios' own port). */
  const ledger = async (ids: number[]) => await Promise.all(ids.map(async (id) => ({
    usuario: (await inside('GET', `/usuarios/${id}`)).json,
    pagos: (await inside('GET', `/usuarios/${id}/pagos?limit=100`)).json.pagos
  })))
  const recordedMigrations = async () => {
    const r = await box.sh('cd /opt/pagos && node -e "const D = require(\'better-sqlite3\'); for (const s of [\'usuarios\', \'pagos\']) { const d = new D(\'/var/lib/pagos/\' + s + \'/\' + s + \'.sqlite\', { readonly: true }); console.log(s + \'=\' + d.prepare(\'select name from kysely_migration order by name\').all().map((r) => r.name).join(\',\')) }"')
    return Object.fromEntries(r.stdout.trim().split('\n').map((l) => l.split('=') as [string, string]))
  }

  let upgradedFrom: Awaited<ReturnType<typeof ledger>> = []
  let users = [1, 2]
  const src = at(SRC.slice(1))
  mkdirSync(src, { recursive: true })

  if (typeof old === 'string') {
    t.comment(old)
  } else {
    await t.test(`an older release (${OLD_RELEASE}) installed, paid on usuarios' port`, async (t) => {
      const file = join(box.root, '..', `old-${process.pid}.tar`)
      writeFileSync(file, old.tar)
      try { await run('tar', ['-xf', file, '-C', src]) } finally { rmSync(file, { force: true }) }
      const first = await install('', { START_TIMEOUT: '10' })
      t.comment(`the old install.sh exited ${first.code}`)
      await waitFor('usuarios of the old release to be ready', async () => (await inside('GET', '/health/ready')).status === 200, { timeoutMs: 90_000, intervalMs: 500 })
      const journal = await waitFor('the old gateway to fail at start', async () => {
        const r = await box.exec(['journalctl', '-u', 'pagos-gateway', '--no-pager', '-o', 'cat'])
        return r.stdout.includes('uv_interface_addresses') ? r.stdout : undefined
      }, { timeoutMs: 60_000, intervalMs: 500 })
      t.match(journal, /uv_interface_addresses returned Unknown system error 97/, 'its gateway dies at start under its units (no AF_NETLINK): the fault this test found')

      const carla = await inside('POST', '/usuarios', { nombre: 'Carla', saldo: 300 })
      t.equal(carla.status, 201, 'a user created', { body: carla.json })
      const recarga = await inside('POST', '/usuarios/2/recargar', { monto: 50 })
      t.equal(recarga.status, 200, 'a top-up', { body: recarga.json })
      await pay('inside', 1, 25)
      await pay('inside', carla.json.id, 100.5)
      users = [1, 2, carla.json.id]
      upgradedFrom = await ledger(users)
      t.match(upgradedFrom, [{ usuario: { saldo: 475 }, pagos: [{ estado: 'completado', monto: 25 }] }, { usuario: { saldo: 750 } }, { usuario: { nombre: 'Carla', saldo: 199.5 } }], 'balances and payments before the upgrade')
    })
    if (!t.passing()) return
  }

  const settingsBefore = typeof old === 'string' ? undefined : envFiles()
  await t.test(typeof old === 'string' ? 'install.sh, as README says' : 'the current install.sh over it: an upgrade', async (t) => {
    // As `git pull` does: the tracked files are replaced, node_modules and dist stay.
    for (const name of readdirSync(src)) if (name !== 'node_modules' && name !== 'dist') rmSync(join(src, name), { recursive: true, force: true })
    const excluded = ['.git', 'node_modules', 'dist', 'data', 'logs', 'run', '.tap', 'tmp', 'bench/results', 'test/artifacts', '*.log']
    const tree = join(box.root, '..', `tree-${process.pid}.tar`)
    try {
      await run('tar', ['-cf', tree, '-C', ROOT, ...excluded.map((e) => `--exclude=./${e}`), '--exclude=*.log', '.'])
      await run('tar', ['-xf', tree, '-C', src])
    } finally {
      rmSync(tree, { force: true })
    }
    const res = await install()
    t.equal(res.code, 0, 'install.sh exits 0', report(res))
    if (res.code !== 0) return
    if (settingsBefore !== undefined) {
      t.same(envFiles(), settingsBefore, 'every settings file kept byte for byte (API key, RabbitMQ password)')
      for (const f of ENV_FILES) t.match(res.stdout, `${f}.env kept`)
      const oldLock = typeof old === 'string' ? '' : old.lock.toString()
      if (oldLock !== readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) {
        t.match(res.stdout, /stopping pagos\.target and its services while their npm deps are replaced/, 'a new package-lock.json: the services are stopped before node_modules is replaced')
      }
      await waitUp('the upgraded services')
      // t.has: an upgrade may add fields to the answers (reembolsado), never change or drop one.
      t.has(await ledger(users), upgradedFrom, 'users, balances and payments kept')
      const applied = await recordedMigrations()
      t.same(applied, { usuarios: Object.keys(usuariosMigrations).sort().join(','), pagos: Object.keys(pagosMigrations).sort().join(',') }, 'every migration of this release recorded in both databases')
    }
  })
  if (!t.passing()) return

  const key = parseApiKeys(/^GATEWAY_API_KEYS=(.*)$/m.exec(readFileSync(at('etc/pagos/gateway.env'), 'utf8'))?.[1])[0]!
  await t.test('under systemd: units active, not restarting, the gateway answering with its key', async (t) => {
    await waitUp('pagos.target, its services and RabbitMQ')
    t.same(await states(), UNITS.map(() => 'active'), `${UNITS.join(', ')}: active`)
    for (const svc of SERVICES) {
      const restarts = (await show(`pagos-${svc}.service`, ['NRestarts'])).NRestarts
      t.equal(restarts, '0', `pagos-${svc}: NRestarts=0`, restarts === '0' ? {} : { journal: await journal(`pagos-${svc}.service`) })
    }
    const health = await gateway('/health')
    t.equal(health.status, 200, 'gateway /health 200 from another machine', { body: health.json })
    t.equal((await gateway('/usuarios/1')).status, 401, 'without the key: 401')
    const willis = await gateway('/usuarios/1', { key })
    t.equal(willis.status, 200, 'with the generated key: 200')
    t.equal(willis.json.nombre, 'Willis')
    const id = await pay('gateway', 1, 10, key)
    t.pass(`payment ${id} completed through the gateway, RabbitMQ and pagos`)
  })
  if (!t.passing()) return

  await t.test('kill -9 of each service: systemd brings it back within 15 s', async (t) => {
    for (const svc of SERVICES) {
      const unit = `pagos-${svc}.service`
      const before = Number((await show(unit, ['MainPID'])).MainPID)
      t.ok(before > 0, `${unit} has a main process (${before})`)
      await box.exec(['kill', '-9', String(before)])
      const after = await waitFor(`${unit} to run again`, async () => {
        const s = await show(unit, ['ActiveState', 'SubState', 'MainPID'])
        const pid = Number(s.MainPID)
        return s.ActiveState === 'active' && s.SubState === 'running' && pid > 0 && pid !== before ? pid : undefined
      }, { timeoutMs: 15_000, intervalMs: 200 }).catch((err: Error) => { t.fail(err.message); return 0 })
      if (after > 0) t.pass(`${unit} active again as ${after}`)
    }
    await waitUp('the services after the kills', 60_000)
    t.equal((await gateway('/usuarios/1', { key })).status, 200, 'and the gateway serves again')
  })

  await t.test('check_status.sh of the installed copy shows each real PID and unit state', async (t) => {
    const status = await box.exec(['/opt/pagos/deploy/check_status.sh'])
    t.equal(status.code, 0, 'exit 0: all up', { output: status.stdout + status.stderr })
    for (const svc of SERVICES) {
      const s = await show(`pagos-${svc}.service`, ['MainPID', 'ActiveState', 'SubState'])
      t.match(status.stdout, new RegExp(`^${svc} +up +${s.MainPID} +\\d+ +${s.ActiveState}/${s.SubState} `, 'm'), `${svc}: pid ${s.MainPID}, ${s.ActiveState}/${s.SubState}`)
    }
    t.match(status.stdout, /^rabbitmq +up /m)
  })

  await t.test('the backup timer\'s service takes a verified snapshot, and restore.sh brings it back under systemd', async (t) => {
    const before = await ledger(users)
    const backup = await box.exec(['systemctl', 'start', 'pagos-backup.service'], { timeoutMs: 120_000 })
    t.equal(backup.code, 0, 'systemctl start pagos-backup.service exits 0', { journal: backup.code === 0 ? '' : await journal('pagos-backup.service') })
    t.equal((await show('pagos-backup.service', ['Result'])).Result, 'success', 'the oneshot unit ended in success')
    t.equal((await box.exec(['systemctl', 'is-active', 'pagos-backup.timer'])).stdout.trim(), 'active', 'its timer is active')
    const snapshots = readdirSync(at('var/lib/pagos/backups')).filter((n) => /^\d{8}T\d{6}Z$/.test(n))
    t.equal(snapshots.length, 1, 'one snapshot in /var/lib/pagos/backups, named with a UTC timestamp', { snapshots })
    const snapshot = `/var/lib/pagos/backups/${snapshots[0] ?? ''}`
    const verified = await box.sh(`cd /opt/pagos && node dist/lib/cli/backup.js verify ${snapshot}`)
    t.equal(verified.code, 0, 'the snapshot verifies (manifest, SHA-256, integrity_check)', report(verified))

    // A payment after the snapshot: the restore goes back to before it.
    const later = await pay('gateway', 2, 7, key)
    const restore = await box.exec(['/opt/pagos/deploy/restore.sh', 'latest'], { timeoutMs: 300_000 })
    t.equal(restore.code, 0, 'restore.sh latest exits 0', report(restore))
    if (restore.code !== 0) return
    await waitUp('the services after the restore')
    t.same(await ledger(users), before, 'users, balances and payments as they were in the snapshot')
    t.equal((await inside('GET', `/usuarios/2/pagos/${later}`)).status, 404, 'the payment made after the snapshot is gone with the restore')
    const setAside = readdirSync(at('var/lib/pagos/usuarios')).filter((n) => n.startsWith('pre-restore-'))
    t.equal(setAside.length, 1, 'the replaced files were moved aside, not deleted', { files: readdirSync(at('var/lib/pagos/usuarios')) })
    for (const svc of SERVICES) t.equal((await show(`pagos-${svc}.service`, ['ActiveState'])).ActiveState, 'active', `pagos-${svc} active after the restore`)
    const id = await pay('gateway', 1, 3, key)
    t.pass(`payment ${id} completed after the restore`)
  })
  if (!t.passing()) return

  const ledgerNow = await ledger(users)
  await t.test('a second install.sh changes nothing and keeps settings and data', async (t) => {
    const settings = envFiles()
    const again = await install()
    t.equal(again.code, 0, 'exits 0', report(again))
    t.same(envFiles(), settings, 'settings kept')
    for (const f of ENV_FILES) t.match(again.stdout, `${f}.env kept`)
    t.match(again.stdout, /production npm deps unchanged/)
    t.notMatch(again.stdout, /\.(service|target) installed$/m, 'no unit rewritten')
    await waitUp('the services after the second install')
    t.same(await ledger(users), ledgerNow, 'users, balances and payments kept')
  })
  if (!t.passing()) return

  await t.test('after a reboot the services come up by themselves, with their data', async (t) => {
    await box.poweroff()
    t.pass('powered off')
    await box.boot()
    await waitUp('the services to start at boot')
    t.same(await states(), UNITS.map(() => 'active'), 'all active without anyone starting them')
    t.same(await ledger(users), ledgerNow, 'users, balances and payments kept')
    const id = await pay('gateway', 2, 5, key)
    t.pass(`payment ${id} completed after the reboot`)
  })
  if (!t.passing()) return

  await t.test('uninstall.sh, install again, uninstall.sh --purge', async (t) => {
    const data = await ledger(users)
    const un = await box.exec(['/opt/pagos/deploy/uninstall.sh'])
    t.equal(un.code, 0, 'uninstall.sh exits 0', report(un))
    t.notOk(existsSync(at('etc/systemd/system/pagos-gateway.service')), 'units removed')
    t.notOk(existsSync(at('opt/pagos')), 'code removed')
    t.equal((await box.exec(['pgrep', '-u', 'pagos'])).stdout.trim(), '', 'no process of the pagos user left')
    t.ok(existsSync(at('var/lib/pagos/usuarios/usuarios.sqlite')), 'data kept')

    const re = await install()
    t.equal(re.code, 0, 'installing again exits 0', report(re))
    await waitUp('the reinstalled services')
    t.same(await ledger(users), data, 'and carries on with the same data')
    t.equal((await gateway('/usuarios/1', { key })).status, 200, 'and the same API key')

    const purge = await box.exec(['/opt/pagos/deploy/uninstall.sh', '--purge'])
    t.equal(purge.code, 0, 'uninstall.sh --purge exits 0', report(purge))
    for (const gone of ['etc/pagos', 'var/lib/pagos', 'var/log/pagos', 'opt/pagos']) t.notOk(existsSync(at(gone)), `${gone} removed`)
    t.not((await box.exec(['getent', 'passwd', 'pagos'])).code, 0, 'user pagos removed')
    t.notMatch((await box.exec(['rabbitmqctl', '-s', 'list_vhosts', 'name'])).stdout, /^pagos$/m, 'RabbitMQ vhost removed')
    t.not((await box.exec(['curl', '-sS', '--max-time', '5', 'http://127.0.0.1:5004/health'])).code, 0, 'nothing of it answers')
  })
  const ccache = await box.exec(['ccache', '--show-stats'], { env: CCACHE_ENV })
  t.comment(`whole run: ${Math.round((Date.now() - started) / 1000)} s; ccache ${/Hits:.*$/m.exec(ccache.stdout)?.[0].replace(/\s+/g, ' ') ?? '(no stats)'}`)
})

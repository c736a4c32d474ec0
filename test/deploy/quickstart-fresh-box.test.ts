import { execFile } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { CACHE_DIR, copyHostNode, createContainer, debianMirror, nspawnUnavailable, prepareRoot, type Container } from '../helpers/nspawn.js'
import { waitFor } from '../helpers/poll.js'
import { aptMirrorHosts, startRegistryProxy, type RegistryProxy } from '../helpers/registry-proxy.js'

/*
 * README's Quick start on a truly fresh box: a Debian 12 booted with systemd
 * (minbase + systemd + git + ca-certificates and the harness's few shell tools,
 * no RabbitMQ, no PostgreSQL, no compiler), with this machine's Node.js copied
 * in, as root. Exactly what a user does there:
 *
 *   git clone ... && cd pagos
 *   npm start &          → installs rabbitmq-server and the build tools, npm ci, build, runs
 *                          the three services; the original's curl flows answer through 5002
 *   npm test -- FILES    → installs postgresql, runs those tests; they pass
 *
 * The clone is of this repository's HEAD (a git bundle: uncommitted changes
 * are not part of it). The container has no route out: apt and npm reach the
 * package registries, and only them, through a forward proxy bound to the host
 * end of its veth (test/helpers/registry-proxy.ts). Cached between runs under
 * /var/cache/pagos-test/: the debootstrap base (by the harness), the npm
 * cache, apt's package lists and downloaded .debs — downloads only: nothing is
 * installed in the box before `npm start`.
 *
 * Only a few test files run inside: the whole suite takes far longer than CI's
 * budget on top of the rest. test/system/e2e.test.ts drives the built services over
 * the box's own RabbitMQ (payments, refunds, the original's flows), and
 * test/integration/usuarios-store.test.ts runs the money transactions on SQLite and on the
 * PostgreSQL that `npm test` just installed — together they need everything
 * the two commands set up.
 */

const run = promisify(execFile)
const ROOT = resolve(import.meta.dirname, '..', '..')
const INSIDE_TESTS = ['test/system/e2e.test.ts', 'test/integration/usuarios-store.test.ts']
const CACHE = join(CACHE_DIR, 'quickstart')
const NPM_REGISTRY = 'registry.npmjs.org'
/** This machine's CA bundle (Debian's path), trusted by npm on the box. */
const HOST_CA = '/etc/ssl/certs/ca-certificates.crt'

// Cold caches: debootstrap, apt downloads and compiling better-sqlite3 on a busy 2-core machine.
t.setTimeout(1_800_000)

const APT_CACHE_LOCK = join(CACHE, 'apt.lock')

/** Takes the apt caches for this process (a lock folder holding its pid; one of a dead process is taken over). False: a live run holds them. */
function claimAptCaches (): boolean {
  mkdirSync(CACHE, { recursive: true })
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      mkdirSync(APT_CACHE_LOCK)
      writeFileSync(join(APT_CACHE_LOCK, 'pid'), `${process.pid}\n`)
      return true
    } catch {
      let owner = 0
      try {
        owner = Number(readFileSync(join(APT_CACHE_LOCK, 'pid'), 'utf8').trim())
      } catch {
        // No pid yet: being taken right now, unless left so a while ago.
        try { if (Date.now() - statSync(APT_CACHE_LOCK).mtimeMs < 60_000) return false } catch { continue }
      }
      if (owner > 0 && existsSync(`/proc/${owner}`)) return false
      rmSync(APT_CACHE_LOCK, { recursive: true, force: true })
    }
  }
  return false
}

/** The registries answer from this machine (the box reaches them only through us). */
async function registriesReachable (): Promise<string | false> {
  for (const url of [`${debianMirror()}/dists/bookworm/Release`, `https://${NPM_REGISTRY}/tap`]) {
    const ok = await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(10_000) }).then((r) => r.ok, () => false)
    if (!ok) return `the package registries are not reachable from this machine (${url})`
  }
  return false
}

const skip = process.env.SKIP_FRESH_BOX === '1' ? 'SKIP_FRESH_BOX=1' : (await nspawnUnavailable()) || (await registriesReachable())

t.test('a fresh Debian 12: the Quick start\'s two commands set up everything, and it works', { skip }, async (t) => {
  const timings: string[] = []
  let phase = Date.now()
  const lap = (what: string): void => { timings.push(`${what} ${Math.round((Date.now() - phase) / 1000)} s`); phase = Date.now() }
  const started = Date.now()

  const caches = { npm: join(CACHE, 'npm'), archives: join(CACHE, 'apt-archives'), lists: join(CACHE, 'apt-lists') }
  for (const dir of [caches.npm, join(caches.archives, 'partial'), join(caches.lists, 'partial')]) mkdirSync(dir, { recursive: true })
  // npm's cache may be shared by runs at the same time; apt's folders may not
  // (apt-get in another box would find them locked): one run at a time uses them.
  const aptCaches = claimAptCaches()
  if (!aptCaches) t.comment('another run is using the apt caches: this one downloads its packages')

  const root = await prepareRoot({ packages: ['git'], log: (l) => t.comment(l) })
  const box: Container = await createContainer({
    root,
    label: 'quick',
    binds: [
      { host: caches.npm, container: '/root/.npm' },
      ...(aptCaches
        ? [{ host: caches.archives, container: '/var/cache/apt/archives' }, { host: caches.lists, container: '/var/lib/apt/lists' }]
        : [])
    ],
    log: (l) => t.comment(l)
  })
  t.teardown(async () => {
    await box.destroy()
    // Only once nothing of the box can write to them any more.
    if (aptCaches) rmSync(APT_CACHE_LOCK, { recursive: true, force: true })
  })
  let proxy: RegistryProxy | undefined
  t.teardown(async () => await proxy?.close())

  copyHostNode(root)
  const sha = (await run('git', ['-C', ROOT, 'rev-parse', 'HEAD'])).stdout.trim()
  await run('git', ['-C', ROOT, 'bundle', 'create', join(root, 'root', 'pagos.bundle'), 'HEAD'])
  lap('base system')

  await box.boot()
  lap('boot')
  // The box's only way out: this proxy, on the host end of its veth, to the registries.
  proxy = await startRegistryProxy(box.hostIp, [...aptMirrorHosts(), new URL(debianMirror()).hostname, NPM_REGISTRY])
  writeFileSync(join(root, 'etc/apt/apt.conf.d/80proxy'), `Acquire::http::Proxy "${proxy.url}";\n`)
  // npm on the box as on this machine: its CA bundle (the way out may
  // re-sign TLS, as this machine's does), and Node's headers from /usr
  // (copyHostNode puts them there; nodejs.org is not a registry the box may
  // reach). prefer-offline: what the cache of earlier runs holds is taken
  // without asking the registry again (minutes through a slow way out).
  copyFileSync(HOST_CA, join(root, 'etc/ssl/certs/host-ca-bundle.crt'))
  writeFileSync(join(root, 'root/.npmrc'), [`proxy=${proxy.url}`, `https-proxy=${proxy.url}`, 'cafile=/etc/ssl/certs/host-ca-bundle.crt', 'nodedir=/usr', 'prefer-offline=true', ''].join('\n'))

  // The box really is fresh: none of what the two commands must set up is there.
  const before = await box.sh('for c in rabbitmq-server pg_ctlcluster g++ make python3; do command -v $c >/dev/null && echo "$c present"; done; node -v; git --version')
  t.equal(before.stdout.replace(/^v\d+.*\n/m, '').replace(/^git version .*\n/m, ''), '', 'no RabbitMQ, PostgreSQL or build tools before npm start')
  t.match(before.stdout, /^v2\d\./m, 'Node 20+ is there')

  const clone = await box.sh('cd /root && git -c advice.detachedHead=false clone -q pagos.bundle pagos && git -C pagos rev-parse HEAD')
  t.equal(clone.code, 0, `git clone${clone.stderr === '' ? '' : `: ${clone.stderr}`}`)
  t.equal(clone.stdout.trim(), sha, `the clone is the commit under test (${sha.slice(0, 12)})`)

  // npm start in the background, as a user would in a second terminal.
  const launch = await box.sh('cd /root/pagos && { setsid npm start </dev/null >/root/npm-start.log 2>&1 & echo $!; }')
  const startPid = Number(launch.stdout.trim())
  t.ok(startPid > 0, 'npm start launched')
  const startLog = (): string => { try { return readFileSync(join(root, 'root/npm-start.log'), 'utf8') } catch { return '' } }
  await waitFor('npm start to report every service up', async () => {
    if ((await box.sh(`kill -0 ${startPid}`)).code !== 0) throw new Error(`npm start exited:\n${startLog().slice(-4000)}`)
    return startLog().includes('All services are up')
  }, { timeoutMs: 1_200_000, intervalMs: 2000 }).catch((err: Error) => { throw new Error(`${err.message}\n--- npm start ---\n${startLog().slice(-4000)}`) })
  lap('npm start until up')

  const out = startLog()
  t.match(out, /^Installing rabbitmq-server python3 make g\+\+ \(RabbitMQ, the message broker; to compile better-sqlite3, a native module\): apt-get install -y rabbitmq-server python3 make g\+\+ /m,
    'npm start said, in one line, that it installs RabbitMQ and the build tools')
  const installed = await box.sh('command -v rabbitmq-server g++ && systemctl is-active rabbitmq-server')
  t.equal(installed.code, 0, `RabbitMQ and g++ are installed and RabbitMQ runs under systemd: ${installed.stdout}${installed.stderr}`)

  // The original's curl flows, on the box, through the gateway (and pagos' own port for procesar).
  /** curl -X METHOD URL on the box: the status and the body (parsed when JSON). */
  const curl = async (method: string, url: string): Promise<{ status: number, body: any }> => {
    const r = await box.sh(`curl -sS -X ${method} -w '\\n%{http_code}' ${url}`)
    t.equal(r.code, 0, `curl -X ${method} ${url}${r.stderr === '' ? '' : `: ${r.stderr}`}`)
    const cut = r.stdout.lastIndexOf('\n')
    let body: any = r.stdout.slice(0, cut)
    try { body = JSON.parse(body) } catch {}
    return { status: Number(r.stdout.slice(cut + 1)), body }
  }
  const willis = await curl('GET', 'http://localhost:5002/usuarios/1')
  const ana = await curl('GET', 'http://localhost:5002/usuarios/2')
  const missing = await curl('GET', 'http://localhost:5002/usuarios/999')
  const pagar = await curl('POST', 'http://localhost:5002/usuarios/1/pagar')
  const status = await curl('GET', 'http://localhost:5002/pagos/status')
  const procesar = await curl('POST', 'http://localhost:5001/pagos/procesar')
  t.equal(willis.status, 200)
  t.match(willis.body, { id: 1, nombre: 'Willis', saldo: 500 }, 'GET /usuarios/1: Willis, 500')
  t.equal(ana.status, 200)
  t.match(ana.body, { id: 2, nombre: 'Ana', saldo: 700 }, 'GET /usuarios/2: Ana, 700')
  t.equal(missing.status, 404)
  t.match(missing.body, { error: 'Usuario no encontrado' }, 'GET /usuarios/999: 404')
  t.equal(pagar.status, 202)
  t.match(pagar.body, { mensaje: 'Solicitud de pago enviada', usuario: { nombre: 'Willis', saldo: 400 } }, 'POST /usuarios/1/pagar with no body: 202')
  t.equal(status.status, 200)
  t.match(status.body, { mensaje: 'Microservicio de pagos activo', status: 'running' }, 'GET /pagos/status: running')
  t.equal(procesar.status, 200)
  t.match(procesar.body, { mensaje: 'Microservicio de pagos está procesando mensajes automáticamente' }, 'POST :5001/pagos/procesar: 200')

  // The public entry point from another machine (the host, over the veth).
  const remote = await fetch(`http://${box.ip}:5002/usuarios/2`, { signal: AbortSignal.timeout(10_000) })
  t.equal(remote.status, 200, 'the gateway answers from outside the box')
  t.match(await remote.json(), { nombre: 'Ana' })
  // The payment really completes (pagos processed it over the box's RabbitMQ).
  const pagoId: string = pagar.body?.pago?.id
  await waitFor('the payment to complete', async () => {
    const r = await box.sh(`curl -sS http://localhost:5002/usuarios/1/pagos/${pagoId}`)
    return (JSON.parse(r.stdout) as { estado?: string }).estado === 'completado'
  }, { timeoutMs: 60_000, intervalMs: 500 })
  lap('curl flows')

  // npm test (a few files, see the top), while npm start still runs.
  const test = await box.sh(`cd /root/pagos && npm test -- ${INSIDE_TESTS.join(' ')} >/root/npm-test.log 2>&1`, { timeoutMs: 1_200_000 })
  const testLog = readFileSync(join(root, 'root/npm-test.log'), 'utf8')
  const tail = testLog.slice(-4000)
  t.match(testLog, /^Installing postgresql \(PostgreSQL, for the tests' PostgreSQL half\): apt-get install -y postgresql/m, 'npm test said it installs PostgreSQL')
  t.notMatch(testLog, /SKIP PostgreSQL/, 'PostgreSQL tests were not skipped')
  t.match(testLog, /^\s*# Subtest: postgres$/m, 'the PostgreSQL half of usuarios-store ran')
  for (const file of INSIDE_TESTS) {
    t.match(testLog, new RegExp(`^ok \\d+ - ${file.replaceAll('.', '\\.')} `, 'm'), `${file} ran and passed inside`)
  }
  const summary = /^# \{ total: (\d+), pass: (\d+)(, fail: (\d+))?/m.exec(testLog)
  const allPassed = summary !== null && Number(summary[1]) > 0 && summary[1] === summary[2] && summary[4] === undefined
  t.ok(allPassed, `every test inside passed (${summary?.[0] ?? 'no tap summary'})${allPassed ? '' : `:\n${tail}`}`)
  t.equal(test.code, 0, `npm test exited 0${test.code === 0 ? '' : `:\n${tail}`}`)
  lap('npm test')

  // Ctrl-C (SIGINT to its process group): npm start stops the three services cleanly.
  await box.sh(`kill -INT -- -${startPid}`)
  await waitFor('npm start to exit', async () => (await box.sh(`kill -0 ${startPid}`)).code !== 0, { timeoutMs: 60_000, intervalMs: 500 })
  t.match(startLog(), /^All services stopped\.$/m, 'npm start stopped every service cleanly')
  lap('stop')

  t.comment(`phases: ${timings.join(', ')}; total ${Math.round((Date.now() - started) / 1000)} s`)
  t.comment(`proxy: ${proxy.forwarded()} requests forwarded; refused: ${proxy.refused.length === 0 ? 'none' : [...new Set(proxy.refused)].join(', ')}`)
  t.ok(proxy.forwarded() > 0, 'the packages came through the registry proxy')
})

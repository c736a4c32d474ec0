import { spawn, spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import t from 'tap'
import { startHostsCluster, type HostsCluster } from '../../lib/launch/hosts-cluster.js'
import { netnsUnavailable, type Host } from '../../lib/launch/netns.js'
import { ROOT } from '../../lib/launch/service.js'
import { call } from '../helpers/http.js'
import { waitFor } from '../helpers/poll.js'

/*
 * Several hosts on one machine, for real: usuarios, pagos, the gateway, a
 * PostgreSQL and a RabbitMQ each in a network namespace of its own, 1 ms
 * each way between any two of them (lib/launch/hosts-cluster.ts). Payments
 * go through; the latency is there; nothing of the run is left afterwards,
 * also when the run fails.
 */
const unavailable = netnsUnavailable()
const skip = unavailable === undefined ? false : `network namespaces impossible here: ${unavailable}`

/** Namespaces and interfaces whose name starts with prefix. */
function leftovers (prefix: string): string[] {
  const namespaces = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').map((l) => l.split(' ')[0]!)
  const links = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout.split('\n').map((l) => (l.split(': ')[1] ?? '').split('@')[0]!)
  return [...namespaces, ...links].filter((name) => name.startsWith(prefix))
}

function alive (pid: number): boolean {
  try { process.kill(pid, 0); return true } catch { return false }
}

/** The fastest of `times` TCP connects to address:port, in ms, made from `from` (a host) or from the root namespace. */
function connectMs (address: string, port: number, from?: Host, times = 5): number {
  const script = `const net = require('node:net'); let best = Infinity; let n = 0;
const one = () => { const t = process.hrtime.bigint(); const s = net.connect(${port}, '${address}', () => {
  best = Math.min(best, Number(process.hrtime.bigint() - t) / 1e6); s.destroy(); if (++n < ${times}) one(); else console.log(best) }); s.on('error', (e) => { console.error(e.message); process.exit(1) }) }; one()`
  const argv = [...(from?.wrap ?? []), process.execPath, '-e', script]
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 10_000 })
  if (r.status !== 0) throw new Error(`connect to ${address}:${port} failed: ${r.stderr}`)
  return Number(r.stdout.trim())
}

t.test('a system across five hosts, 1 ms each way', { skip }, async (t) => {
  let c: HostsCluster | undefined
  t.teardown(async () => { await c?.stop() })
  c = await startHostsCluster('netns', { usuarios: 1, pagos: 1, delayMs: 1, env: { RATE_LIMIT_MAX: '0', OUTBOX_POLL_MS: '200' } })
  const prefix = c.hosts.prefix
  t.equal(c.hosts.hosts.length, 5, `hosts ${c.hosts.hosts.map((h) => `${h.name} ${h.address}`).join(', ')} (latency by ${c.hosts.delayBy})`)
  t.equal(new URL(c.gateway.url).hostname, c.hosts.host('gateway').address, 'the gateway is reached at its own host address')

  t.test('a round trip between two hosts takes at least 2 ms', async (t) => {
    const usuarios = new URL(c!.usuarios[0]!.url)
    const hostToHost = connectMs(usuarios.hostname, Number(usuarios.port), c!.hosts.host('gateway'))
    t.ok(hostToHost >= 2, `gateway host → usuarios host: TCP connect ${hostToHost.toFixed(2)} ms`)
    const clientToGateway = connectMs(c!.hosts.host('gateway').address, c!.gateway.port)
    t.ok(clientToGateway >= 2, `the client (root namespace) → gateway host: TCP connect ${clientToGateway.toFixed(2)} ms`)
  })

  t.test('five payments through the gateway end completado', async (t) => {
    const gw = c!.gateway.url
    const u = await call('POST', `${gw}/usuarios`, { nombre: 'Zona', saldo: 100 })
    t.equal(u.status, 201)
    const answers = await Promise.all(Array.from({ length: 5 }, async () => await call('POST', `${gw}/usuarios/${u.body.id}/pagar`, { monto: 2 })))
    t.same(answers.map((a) => a.status), [202, 202, 202, 202, 202])
    const done = await waitFor('five payments completado', async () => {
      const r = await call('GET', `${gw}/usuarios/${u.body.id}/pagos?estado=completado`)
      return r.body.total === 5 ? r.body : undefined
    }, { timeoutMs: 30_000, intervalMs: 100 })
    t.equal(done.total, 5)
    const saldo = await call('GET', `${gw}/usuarios/${u.body.id}`)
    t.equal(saldo.body.saldo, 90, '100 − 5 × 2')
  })

  await t.test('stop() leaves no namespace, link or bridge of the run', async (t) => {
    t.ok(leftovers(prefix).length > 0, 'before: the run\'s namespaces and links exist')
    await c!.stop()
    c = undefined
    t.same(leftovers(prefix), [], `nothing named ${prefix}* left`)
  })
})

// SIGKILL: no exit handler runs; the watchdog of lib/launch/netns.ts cleans up.
for (const how of ['throw', 'SIGTERM', 'SIGKILL'] as const) {
  t.test(`a run that ends by ${how} mid-run leaves no namespace, link or process of its hosts`, { skip }, async (t) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test', 'fixtures', 'hosts-and-end.ts'), how === 'throw' ? 'throw' : 'wait'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    const started = await new Promise<{ prefix: string, pid: number }>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        try { resolve(JSON.parse(line)) } catch {}
      })
      void exited.then((code) => reject(new Error(`the run exited with ${String(code)} before its hosts were up: ${stderr}`)))
    })
    t.ok(leftovers(started.prefix).length >= 2, `its hosts exist: ${leftovers(started.prefix).join(', ')}`)
    if (how !== 'throw') child.kill(how)
    const code = await exited
    t.not(code, 0, 'the run failed')
    if (how === 'throw') t.match(stderr, /on purpose, mid-run/)
    await waitFor('the process on the host to end', () => !alive(started.pid), { timeoutMs: 10_000 })
    await waitFor(`nothing named ${started.prefix}* left`, () => leftovers(started.prefix).length === 0, { timeoutMs: 10_000 }).catch(() => {})
    t.same(leftovers(started.prefix), [], `nothing named ${started.prefix}* left`)
  })
}

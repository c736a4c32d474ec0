/*
 * npm run bench:scale — payments per second end to end, through the gateway:
 *
 *   sqlite1  SQLite,      1 usuarios + 1 pagos      } one host: this machine's
 *   pg1      PostgreSQL,  1 usuarios + 1 pagos      } RabbitMQ and PostgreSQL
 *   pg2      PostgreSQL,  2 usuarios + 2 pagos      }
 *   hosts1   PostgreSQL,  1 + 1, every process on a host of its own (a network
 *   hosts2   PostgreSQL,  2 + 2  namespace, lib/launch/hosts-cluster.ts) with a
 *                                private PostgreSQL and RabbitMQ, 1 ms each way
 *                                (BENCH_HOSTS_DELAY_MS)
 *   hosts1-0ms, hosts2-0ms       the same hosts without the latency: what the
 *                                latency alone costs (same private servers)
 *
 * in one run (BENCH_SCENARIOS=hosts1,hosts2 runs those only; default all),
 * fresh databases and queue names per scenario, removed afterwards. The
 * hosts scenarios also count the round trips of each payment step
 * (bench/round-trips.ts). Each scenario: BENCH_CLIENTS
 * clients pay 1.00 in a loop for BENCH_SECONDS (after a short warm-up);
 * "accepted/s" counts the 202s, "end to end/s" the payments that reached
 * `completado` in usuarios, from the first request until the last one settled.
 * Prints a table with ratios and writes bench/results/scale-<date>.json.
 * Not a test: figures depend on the machine (cores shared by every process).
 *
 * BENCH_USERS=n spreads the payments over n users instead of 20 (fewer
 * rows that instances contend for); BENCH_PROFILE_DIR=dir runs usuarios and
 * pagos of the one-host scenarios with `--cpu-prof` into that directory
 * (summarise with bench/cpuprofile-summary.ts).
 */
import { spawn } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { cpus } from 'node:os'
import { join, resolve } from 'node:path'
import { startHostsCluster } from '../lib/launch/hosts-cluster.js'
import { netnsUnavailable } from '../lib/launch/netns.js'
import { startCluster, type Cluster } from '../lib/launch/system.js'
import { requestJson, type JsonResponse } from './http-client.js'
import { prepareRoundTrips, startRoundTrips, type RoundTrips } from './round-trips.js'

/** A bad setting: one line on stderr and exit code 2 (no stack trace). */
function refuse (message: string): never {
  console.error(`bench:scale: ${message}`)
  process.exit(2)
}

/** A numeric BENCH_* setting within [min, max] (integers only when asked), or refuse. */
function setting (name: string, fallback: number, min: number, max: number, integer = true): number {
  const raw = process.env[name]
  const n = raw === undefined ? fallback : raw.trim() === '' ? NaN : Number(raw)
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) refuse(`${name} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}, not ${JSON.stringify(raw)}`)
  return n
}

const SECONDS = setting('BENCH_SECONDS', 10, 1, 3600, false)
const WARMUP_SECONDS = setting('BENCH_WARMUP_SECONDS', 2, 0, 600, false)
const CLIENTS = setting('BENCH_CLIENTS', 64, 1, 10_000)
const USERS = setting('BENCH_USERS', 20, 1, 100_000)
/** Bound on the wait for the backlog to settle after the load stops. */
const SETTLE_MS = 120_000

/** One-way latency between two hosts of the hosts scenarios, in ms (BENCH_HOSTS_DELAY_MS; 0 isolates the cost of the namespaces themselves). */
const DELAY_MS = setting('BENCH_HOSTS_DELAY_MS', 1, 0, 1000, false)

interface Scenario { key: string, name: string, database: 'sqlite' | 'postgres', instances: number, hosts?: { delayMs: number } }
const ALL_SCENARIOS: Scenario[] = [
  { key: 'sqlite1', name: 'SQLite, 1 + 1', database: 'sqlite', instances: 1 },
  { key: 'pg1', name: 'PostgreSQL, 1 + 1', database: 'postgres', instances: 1 },
  { key: 'pg2', name: 'PostgreSQL, 2 + 2', database: 'postgres', instances: 2 },
  { key: 'hosts1-0ms', name: 'PostgreSQL, 1 + 1, 5 hosts, 0 ms', database: 'postgres', instances: 1, hosts: { delayMs: 0 } },
  { key: 'hosts1', name: `PostgreSQL, 1 + 1, 5 hosts, ${DELAY_MS} ms`, database: 'postgres', instances: 1, hosts: { delayMs: DELAY_MS } },
  { key: 'hosts2-0ms', name: 'PostgreSQL, 2 + 2, 7 hosts, 0 ms', database: 'postgres', instances: 2, hosts: { delayMs: 0 } },
  { key: 'hosts2', name: `PostgreSQL, 2 + 2, 7 hosts, ${DELAY_MS} ms`, database: 'postgres', instances: 2, hosts: { delayMs: DELAY_MS } }
]
const wanted = (process.env.BENCH_SCENARIOS ?? '').split(',').map((k) => k.trim()).filter((k) => k !== '')
for (const k of wanted) {
  if (!ALL_SCENARIOS.some((s) => s.key === k)) refuse(`BENCH_SCENARIOS: no scenario ${k} (${ALL_SCENARIOS.map((s) => s.key).join(', ')})`)
}
let SCENARIOS = wanted.length === 0 ? ALL_SCENARIOS : ALL_SCENARIOS.filter((s) => wanted.includes(s.key))
const noNetns = SCENARIOS.some((s) => s.hosts !== undefined) ? netnsUnavailable() : undefined
if (noNetns !== undefined) {
  console.log(`hosts scenarios skipped: ${noNetns}`)
  SCENARIOS = SCENARIOS.filter((s) => s.hosts === undefined)
}
const PROFILE_DIR = process.env.BENCH_PROFILE_DIR

interface Result {
  key: string
  scenario: string
  accepted: number
  errors: number
  acceptedPerSecond: number
  endToEndPerSecond: number
  settleMs: number
  p50Ms: number
  p99Ms: number
  /** CPU time of the gateway and every service process per accepted payment (Linux /proc; PostgreSQL and RabbitMQ not included). */
  cpuMsPerPayment: number
  /** Hosts scenarios: what adds the latency (netem or delay-link) and the round trips of each step. */
  delayBy?: string
  roundTrips?: RoundTrips
  /** Hosts scenarios: TCP connect times from the client to the broker's host during the measured window (bench/link-rtt.cjs). */
  linkRtt?: { n: number, p50Ms: number, p99Ms: number }
  /** The same, per kind of process (each kind summed over its instances). */
  cpuMsPerPaymentByService: { gateway: number, usuarios: number, pagos: number }
}

/** Starts bench/link-rtt.cjs against host:port; the returned function stops it and resolves with its figures. */
function probeLinkRtt (host: string, port: number): () => Promise<Result['linkRtt']> {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'link-rtt.cjs'), host, String(port)], { stdio: ['pipe', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString() })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return async () => {
    child.stdin.end()
    await exited
    return JSON.parse(out)
  }
}

const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS })

async function request (base: string, method: string, path: string, body?: unknown): Promise<JsonResponse> {
  return await requestJson(`${base}${path}`, method, body, {}, agent)
}

/** User + system CPU time of a process, in ms (Linux); 0 elsewhere. */
function cpuMs (pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return 0
  }
}

function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!
}

async function pendientes (gw: string, users: number[]): Promise<number> {
  const counts = await Promise.all(users.map(async (id) => (await request(gw, 'GET', `/usuarios/${id}/pagos?estado=pendiente&limit=1`)).json.total as number))
  return counts.reduce((a, b) => a + b, 0)
}

async function run (s: Scenario): Promise<Result> {
  let cluster: Cluster | undefined
  try {
    const env = { RATE_LIMIT_MAX: '0', LOG_LEVEL: 'info' }
    const hosts = s.hosts === undefined ? undefined : await startHostsCluster(`benchh${s.instances}`, { usuarios: s.instances, pagos: s.instances, delayMs: s.hosts.delayMs, keepLines: false, env })
    cluster = hosts ?? await startCluster(`bench${s.instances}${s.database[0]!}`, {
      usuarios: s.instances,
      pagos: s.instances,
      database: s.database,
      keepLines: false,
      env,
      execArgv: PROFILE_DIR === undefined
        ? undefined
        : (name, n) => ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=${s.database}${s.instances}-${name}-${n}.cpuprofile`]
    })
    if (hosts !== undefined) await prepareRoundTrips(hosts)
    const gw = cluster.gateway.url
    const users: number[] = []
    for (let i = 0; i < USERS; i++) {
      const r = await request(gw, 'POST', '/usuarios', { nombre: `Bench ${i}`, saldo: 1_000_000 })
      if (r.status !== 201) throw new Error(`could not create a user: ${r.status} ${JSON.stringify(r.json)}`)
      users.push(r.json.id)
    }

    let phase: 'warmup' | 'measure' | 'stop' = 'warmup'
    let accepted = 0
    let errors = 0
    const latencies: number[] = []
    const client = async (k: number): Promise<void> => {
      for (let n = k; phase !== 'stop'; n += CLIENTS) {
        const started = performance.now()
        let status = 0
        try {
          status = (await request(gw, 'POST', `/usuarios/${users[n % users.length]!}/pagar`, { monto: 1 })).status
        } catch { status = 0 }
        if (phase !== 'measure') continue
        if (status === 202) {
          accepted++
          latencies.push(performance.now() - started)
        } else {
          errors++
        }
      }
    }
    const clients = Array.from({ length: CLIENTS }, async (_, k) => await client(k))
    await new Promise((resolve) => setTimeout(resolve, WARMUP_SECONDS * 1000))
    // Steady state from here: the warm-up's backlog at t0 is about the size
    // of the one left when the load stops, so the end-to-end figure is the
    // rate at which payments settle.
    const processes = [cluster.gateway, ...cluster.usuarios, ...cluster.pagos].map((p) => p.process.pid)
    const cpuAt = (): number => processes.reduce<number>((sum, pid) => sum + cpuMs(pid), 0)
    const byService = { gateway: [cluster.gateway], usuarios: cluster.usuarios, pagos: cluster.pagos }
    const cpuByService = (): Record<keyof typeof byService, number> => ({
      gateway: byService.gateway.reduce((sum, p) => sum + cpuMs(p.process.pid), 0),
      usuarios: byService.usuarios.reduce((sum, p) => sum + cpuMs(p.process.pid), 0),
      pagos: byService.pagos.reduce((sum, p) => sum + cpuMs(p.process.pid), 0)
    })
    const cpu0 = cpuAt()
    const readRoundTrips = hosts === undefined ? undefined : await startRoundTrips(hosts)
    const readLinkRtt = hosts === undefined ? undefined : probeLinkRtt(hosts.hosts.host('mq').address, 15692)
    const split0 = cpuByService()
    const t0 = performance.now()
    phase = 'measure'
    await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000))
    phase = 'stop'
    const loadEnd = performance.now()
    const linkRtt = await readLinkRtt?.()
    await Promise.all(clients)

    const deadline = Date.now() + SETTLE_MS
    while (await pendientes(gw, users) > 0) {
      if (Date.now() > deadline) throw new Error(`payments still pendiente after ${SETTLE_MS} ms`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const settled = performance.now()
    const cpu = cpuAt() - cpu0
    const roundTrips = await readRoundTrips?.()
    const split1 = cpuByService()
    const perPayment = (ms: number): number => ms / Math.max(accepted, 1)
    latencies.sort((a, b) => a - b)
    return {
      key: s.key,
      delayBy: hosts?.hosts.delayBy,
      roundTrips,
      linkRtt,
      scenario: s.name,
      accepted,
      errors,
      acceptedPerSecond: accepted / ((loadEnd - t0) / 1000),
      endToEndPerSecond: accepted / ((settled - t0) / 1000),
      settleMs: settled - loadEnd,
      p50Ms: percentile(latencies, 0.5),
      p99Ms: percentile(latencies, 0.99),
      cpuMsPerPayment: cpu / Math.max(accepted, 1),
      cpuMsPerPaymentByService: {
        gateway: perPayment(split1.gateway - split0.gateway),
        usuarios: perPayment(split1.usuarios - split0.usuarios),
        pagos: perPayment(split1.pagos - split0.pagos)
      }
    }
  } finally {
    await cluster?.stop()
  }
}

const results: Result[] = []
console.log(`bench:scale — ${CLIENTS} clients, ${SECONDS} s per scenario (+${WARMUP_SECONDS} s warm-up), ${cpus().length} CPU cores, Node ${process.version}`)
for (const s of SCENARIOS) {
  process.stdout.write(`  ${s.name} ...`)
  const r = await run(s)
  results.push(r)
  console.log(` ${Math.round(r.endToEndPerSecond)} payments/s end to end`)
}
agent.destroy()

const pad = (v: string, n: number): string => v.padStart(n)
const W = 36
console.log('')
console.log(`| ${'scenario (usuarios + pagos)'.padEnd(W)} | accepted/s | end to end/s | p50 ms | p99 ms | settle ms | CPU ms/payment | errors |`)
console.log(`|${'-'.repeat(W + 2)}|-----------:|-------------:|-------:|-------:|----------:|---------------:|-------:|`)
for (const r of results) {
  console.log(`| ${r.scenario.padEnd(W)} | ${pad(r.acceptedPerSecond.toFixed(0), 10)} | ${pad(r.endToEndPerSecond.toFixed(0), 12)} | ${pad(r.p50Ms.toFixed(1), 6)} | ${pad(r.p99Ms.toFixed(1), 6)} | ${pad(r.settleMs.toFixed(0), 9)} | ${pad(r.cpuMsPerPayment.toFixed(2), 14)} | ${pad(String(r.errors), 6)} |`)
}
console.log('')
console.log(`| ${'CPU ms/payment by process'.padEnd(W)} | gateway | usuarios | pagos |`)
console.log(`|${'-'.repeat(W + 2)}|--------:|---------:|------:|`)
for (const r of results) {
  const c = r.cpuMsPerPaymentByService
  console.log(`| ${r.scenario.padEnd(W)} | ${pad(c.gateway.toFixed(2), 7)} | ${pad(c.usuarios.toFixed(2), 8)} | ${pad(c.pagos.toFixed(2), 5)} |`)
}
const byKey = new Map(results.map((r) => [r.key, r]))
const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}×`
const compare = (label: string, a: string, b: string): void => {
  const ra = byKey.get(a)
  const rb = byKey.get(b)
  if (ra === undefined || rb === undefined) return
  console.log(`${label.padEnd(38)} ${ratio(ra.endToEndPerSecond, rb.endToEndPerSecond)} end to end, ${ratio(ra.acceptedPerSecond, rb.acceptedPerSecond)} accepted, ${ratio(ra.cpuMsPerPayment, rb.cpuMsPerPayment)} CPU per payment, p99 ${ra.p99Ms.toFixed(1)} vs ${rb.p99Ms.toFixed(1)} ms`)
}
console.log('')
compare('PostgreSQL 2 + 2 vs 1 + 1:', 'pg2', 'pg1')
compare('PostgreSQL vs SQLite (1 + 1):', 'pg1', 'sqlite1')
compare(`1 + 1 on hosts, ${DELAY_MS} ms vs 0 ms:`, 'hosts1', 'hosts1-0ms')
compare(`2 + 2 on hosts, ${DELAY_MS} ms vs 0 ms:`, 'hosts2', 'hosts2-0ms')
compare(`1 + 1 on hosts (${DELAY_MS} ms) vs one host:`, 'hosts1', 'pg1')
compare(`2 + 2 on hosts (${DELAY_MS} ms) vs one host:`, 'hosts2', 'pg2')
compare('2 + 2 vs 1 + 1 on hosts:', 'hosts2', 'hosts1')

for (const r of results) {
  const rt = r.roundTrips
  // The same counts with no latency: printed once, for the scenarios where they cost time.
  if (rt === undefined || r.delayBy === 'none') continue
  const f = (v: number): string => v.toFixed(2)
  console.log('')
  console.log(`PostgreSQL round trips per payment (each statement one), ${r.scenario} (latency by ${r.delayBy ?? '?'}; ${rt.payments} payments processed in the window; one round trip = ${2 * DELAY_MS} ms here):`)
  console.log(`| ${'step'.padEnd(24)} | PostgreSQL statements |`)
  console.log(`|${'-'.repeat(26)}|----------------------:|`)
  for (const st of rt.steps) console.log(`| ${st.step.padEnd(24)} | ${pad(f(st.postgres), 21)} |`)
  console.log(`| ${'begin + commit, usuarios'.padEnd(24)} | ${pad(f(rt.transactionControl.usuarios), 21)} |`)
  console.log(`| ${'begin + commit, pagos'.padEnd(24)} | ${pad(f(rt.transactionControl.pagos), 21)} |`)
  console.log(`| ${'other (health, sweeps)'.padEnd(24)} | ${pad(f(rt.otherPostgres), 21)} |`)
  console.log(`AMQP per payment: ${f(rt.amqp.published)} published, ${f(rt.amqp.confirmed)} confirmed, ${f(rt.amqp.delivered)} delivered, ${f(rt.amqp.acknowledged)} acknowledged`)
  if (r.linkRtt !== undefined) console.log(`A round trip client → mq host under this load (TCP connect, ${r.linkRtt.n} samples): p50 ${r.linkRtt.p50Ms.toFixed(2)} ms, p99 ${r.linkRtt.p99Ms.toFixed(2)} ms`)
  console.log(`Packets per payment through each host's link: ${Object.entries(rt.packets).map(([h, n]) => `${h} ${n.toFixed(1)}`).join(', ')}`)
}

const dir = resolve(import.meta.dirname, 'results')
mkdirSync(dir, { recursive: true })
const file = join(dir, `scale-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
writeFileSync(file, JSON.stringify({ clients: CLIENTS, seconds: SECONDS, delayMs: DELAY_MS, cores: cpus().length, node: process.version, results }, null, 2))
console.log(`\n(${file})`)

/*
 * npm run bench:scale — payments per second end to end, through the gateway:
 *
 *   1. SQLite,      1 usuarios + 1 pagos
 *   2. PostgreSQL,  1 usuarios + 1 pagos
 *   3. PostgreSQL,  2 usuarios + 2 pagos
 *
 * in one run, on this machine's RabbitMQ and PostgreSQL (fresh databases and
 * queue names per scenario, removed afterwards). Each scenario: BENCH_CLIENTS
 * clients pay 1.00 in a loop for BENCH_SECONDS (after a short warm-up);
 * "accepted/s" counts the 202s, "end to end/s" the payments that reached
 * `completado` in usuarios, from the first request until the last one settled.
 * Prints a table with ratios and writes bench/results/scale-<date>.json.
 * Not a test: figures depend on the machine (cores shared by every process).
 *
 * BENCH_SCENARIOS=2,3 runs only those scenarios (1-based; the ratios need
 * all three); BENCH_USERS=n spreads the payments over n users instead of
 * 20 (fewer rows that instances contend for); BENCH_PROFILE_DIR=dir runs usuarios and pagos with
 * `--cpu-prof` into that directory (summarise with bench/cpuprofile-summary.ts).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { cpus } from 'node:os'
import { join, resolve } from 'node:path'
import { startCluster, type Cluster } from '../lib/launch/system.js'
import { requestJson, type JsonResponse } from './http-client.js'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10)
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 2)
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 64)
const USERS = Number(process.env.BENCH_USERS ?? 20)
/** Bound on the wait for the backlog to settle after the load stops. */
const SETTLE_MS = 120_000

interface Scenario { name: string, database: 'sqlite' | 'postgres', instances: number }
const ALL_SCENARIOS: Scenario[] = [
  { name: 'SQLite, 1 + 1', database: 'sqlite', instances: 1 },
  { name: 'PostgreSQL, 1 + 1', database: 'postgres', instances: 1 },
  { name: 'PostgreSQL, 2 + 2', database: 'postgres', instances: 2 }
]
const SCENARIOS = process.env.BENCH_SCENARIOS === undefined
  ? ALL_SCENARIOS
  : process.env.BENCH_SCENARIOS.split(',').map((n) => ALL_SCENARIOS[Number(n) - 1] ?? ALL_SCENARIOS[0]!)
const PROFILE_DIR = process.env.BENCH_PROFILE_DIR

interface Result {
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
  /** The same, per kind of process (each kind summed over its instances). */
  cpuMsPerPaymentByService: { gateway: number, usuarios: number, pagos: number }
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
    cluster = await startCluster(`bench${s.instances}${s.database[0]!}`, {
      usuarios: s.instances,
      pagos: s.instances,
      database: s.database,
      keepLines: false,
      env: { RATE_LIMIT_MAX: '0', LOG_LEVEL: 'info' },
      execArgv: PROFILE_DIR === undefined
        ? undefined
        : (name, n) => ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=${s.database}${s.instances}-${name}-${n}.cpuprofile`]
    })
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
    const split0 = cpuByService()
    const t0 = performance.now()
    phase = 'measure'
    await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000))
    phase = 'stop'
    const loadEnd = performance.now()
    await Promise.all(clients)

    const deadline = Date.now() + SETTLE_MS
    while (await pendientes(gw, users) > 0) {
      if (Date.now() > deadline) throw new Error(`payments still pendiente after ${SETTLE_MS} ms`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const settled = performance.now()
    const cpu = cpuAt() - cpu0
    const split1 = cpuByService()
    const perPayment = (ms: number): number => ms / Math.max(accepted, 1)
    latencies.sort((a, b) => a - b)
    return {
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
console.log('')
console.log(`| ${'scenario (usuarios + pagos)'.padEnd(28)} | accepted/s | end to end/s | p50 ms | p99 ms | settle ms | CPU ms/payment | errors |`)
console.log(`|${'-'.repeat(30)}|-----------:|-------------:|-------:|-------:|----------:|---------------:|-------:|`)
for (const r of results) {
  console.log(`| ${r.scenario.padEnd(28)} | ${pad(r.acceptedPerSecond.toFixed(0), 10)} | ${pad(r.endToEndPerSecond.toFixed(0), 12)} | ${pad(r.p50Ms.toFixed(1), 6)} | ${pad(r.p99Ms.toFixed(1), 6)} | ${pad(r.settleMs.toFixed(0), 9)} | ${pad(r.cpuMsPerPayment.toFixed(2), 14)} | ${pad(String(r.errors), 6)} |`)
}
console.log('')
console.log(`| ${'CPU ms/payment by process'.padEnd(28)} | gateway | usuarios | pagos |`)
console.log(`|${'-'.repeat(30)}|--------:|---------:|------:|`)
for (const r of results) {
  const c = r.cpuMsPerPaymentByService
  console.log(`| ${r.scenario.padEnd(28)} | ${pad(c.gateway.toFixed(2), 7)} | ${pad(c.usuarios.toFixed(2), 8)} | ${pad(c.pagos.toFixed(2), 5)} |`)
}
const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}×`
if (results.length === 3 && SCENARIOS === ALL_SCENARIOS) {
  const [sqlite1, pg1, pg2] = results as [Result, Result, Result]
  console.log('')
  console.log(`PostgreSQL 2 + 2 vs 1 + 1:   ${ratio(pg2.endToEndPerSecond, pg1.endToEndPerSecond)} end to end, ${ratio(pg2.acceptedPerSecond, pg1.acceptedPerSecond)} accepted, ${ratio(pg2.cpuMsPerPayment, pg1.cpuMsPerPayment)} CPU per payment`)
  console.log(`PostgreSQL vs SQLite (1 + 1): ${ratio(pg1.endToEndPerSecond, sqlite1.endToEndPerSecond)} end to end, ${ratio(pg1.acceptedPerSecond, sqlite1.acceptedPerSecond)} accepted, ${ratio(pg1.cpuMsPerPayment, sqlite1.cpuMsPerPayment)} CPU per payment`)
}

const dir = resolve(import.meta.dirname, 'results')
mkdirSync(dir, { recursive: true })
const file = join(dir, `scale-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
writeFileSync(file, JSON.stringify({ clients: CLIENTS, seconds: SECONDS, cores: cpus().length, node: process.version, results }, null, 2))
console.log(`\n(${file})`)

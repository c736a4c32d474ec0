import autocannon, { type Result } from 'autocannon'
import { cpuShare, cpuSnapshot } from './procfs.js'
import { median } from './stats.js'

export interface HttpTarget {
  name: string
  /** Base URL, e.g. http://127.0.0.1:5004 */
  url: string
  headers?: Record<string, string>
}

export interface HttpRun {
  target: string
  /** Successful (2xx) responses per second over the run. */
  reqPerSec: number
  p50Ms: number
  p99Ms: number
  requests: number
  non2xx: number
  errors: number
  seconds: number
  /** CPU ms each process spent per 1,000 answered requests during this run. */
  cpuMsPerKiloReq: Record<string, number>
  /** Other processes on the machine, % of one core, during this run (noise). */
  otherPercentOfCore: number
}

function toRun (target: string, r: Result): Omit<HttpRun, 'cpuMsPerKiloReq' | 'otherPercentOfCore'> {
  return {
    target,
    reqPerSec: r['2xx'] / r.duration,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors,
    seconds: r.duration
  }
}

/**
 * A closed loop of `connections` keep-alive connections, each sending the
 * next GET when the last one is answered; with the CPU each of `pids` used.
 */
export async function measureGet (target: HttpTarget, path: string, connections: number, seconds: number, pids: Record<string, number | undefined> = {}): Promise<HttpRun> {
  const c0 = cpuSnapshot(pids)
  const r = await autocannon({ url: `${target.url}${path}`, connections, duration: seconds, headers: target.headers ?? {} })
  const cpu = cpuShare(c0, cpuSnapshot(pids))
  const run = toRun(target.name, r)
  const kilo = Math.max(1, r['2xx']) / 1000
  const cpuMsPerKiloReq = Object.fromEntries(Object.entries(cpu.seconds).filter(([, s]) => s > 0).map(([name, s]) => [name, 1000 * s / kilo]))
  return { ...run, cpuMsPerKiloReq, otherPercentOfCore: cpu.otherPercentOfCore }
}

export interface HttpComparison {
  path: string
  connections: number
  seconds: number
  rounds: number
  /** Every round of every target, in the order run. */
  runs: HttpRun[]
  /** Per target: the median over the rounds of each figure. */
  median: Record<string, { reqPerSec: number, p50Ms: number, p99Ms: number, cpuMsPerKiloReq: Record<string, number> }>
}

/**
 * Each target gets a warm-up (discarded), then the targets take turns for
 * `rounds` rounds so that a burst of outside load hits them alike; the
 * figure per target is the median of its rounds.
 */
export async function compareGet (targets: HttpTarget[], path: string, connections: number, seconds: number, rounds: number, pids: Record<string, number | undefined>): Promise<HttpComparison> {
  for (const t of targets) await measureGet(t, path, connections, Math.min(2, seconds))
  const runs: HttpRun[] = []
  for (let i = 0; i < rounds; i++) {
    for (const t of targets) runs.push(await measureGet(t, path, connections, seconds, pids))
  }
  const byTarget: HttpComparison['median'] = {}
  for (const t of targets) {
    const mine = runs.filter((r) => r.target === t.name)
    byTarget[t.name] = {
      reqPerSec: median(mine.map((r) => r.reqPerSec)),
      p50Ms: median(mine.map((r) => r.p50Ms)),
      p99Ms: median(mine.map((r) => r.p99Ms)),
      cpuMsPerKiloReq: Object.fromEntries(Object.keys(mine[0]!.cpuMsPerKiloReq).map((k) => [k, median(mine.map((r) => r.cpuMsPerKiloReq[k] ?? 0))]))
    }
  }
  return { path, connections, seconds, rounds, runs, median: byTarget }
}

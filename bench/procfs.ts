import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'

/* What /proc says about a process and the machine: CPU time and memory. */

const CLK_TCK = ((): number => {
  try { return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100 } catch { return 100 }
})()

/** User + system CPU seconds a process has used so far (0 once it is gone). */
export function cpuSeconds (pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK
  } catch {
    return 0
  }
}

/**
 * Resident set now and its high-water mark, in MB, and the resident set by
 * kind: anonymous (JS heap, malloc), file-backed (code, mapped files),
 * shared memory (e.g. SQLite's WAL index). Undefined once the process is gone.
 */
export function memoryMb (pid: number): { rss: number, hwm: number, anon: number, file: number, shmem: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0)
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024, anon: kb('RssAnon') / 1024, file: kb('RssFile') / 1024, shmem: kb('RssShmem') / 1024 }
  } catch {
    return undefined
  }
}

/** Busy and total CPU seconds of the whole machine (all cores) since boot. */
export function machineSeconds (): { busy: number, total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!
  const t = line.trim().split(/\s+/).slice(1).map(Number)
  const total = t.reduce((a, b) => a + b, 0)
  const idle = (t[3] ?? 0) + (t[4] ?? 0) // idle + iowait
  return { busy: (total - idle) / CLK_TCK, total: total / CLK_TCK }
}

/**
 * The local RabbitMQ node's Erlang VM (beam.smp): BENCH_RABBITMQ_PID, or the
 * oldest beam.smp in this process's network namespace (the broker on
 * 127.0.0.1; a RabbitMQ in a container, such as the deploy tests' systemd
 * boot, is another namespace's) whose command line does not live under
 * /tmp (the chaos run starts nodes of its own there).
 */
export function findRabbitPid (): number | undefined {
  const fromEnv = Number(process.env.BENCH_RABBITMQ_PID)
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv
  return rabbitCandidates()[0]
}

/** findRabbitPid's candidates, oldest (lowest pid) first. */
export function rabbitCandidates (): number[] {
  const candidates: number[] = []
  const ourNet = netNamespace('self')
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'beam.smp') continue
      if (netNamespace(entry) !== ourNet) continue
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8')
      if (cmd.includes('rabbit') && !cmd.includes('/tmp/')) candidates.push(Number(entry))
    } catch { /* gone meanwhile */ }
  }
  return candidates.sort((a, b) => a - b)
}

/** The network namespace of /proc/<pid> (`net:[inode]`), undefined when it cannot be read. */
function netNamespace (pid: string): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`)
  } catch {
    return undefined
  }
}

/** Pressure stall totals (µs some task waited for CPU / for IO), undefined without PSI. */
function pressure (): { cpu: number, io: number } | undefined {
  try {
    const some = (kind: string): number => Number(/^some .*total=(\d+)/m.exec(readFileSync(`/proc/pressure/${kind}`, 'utf8'))?.[1] ?? NaN)
    return { cpu: some('cpu'), io: some('io') }
  } catch {
    return undefined
  }
}

export interface CpuSnapshot {
  at: number
  pressure: { cpu: number, io: number } | undefined
  bench: number
  machine: { busy: number, total: number }
  pids: Record<string, number>
}

/** Where the machine's CPU went between two snapshots, in CPU seconds and in % of one core. */
export interface CpuShare {
  wallSeconds: number
  /** name → CPU seconds; `bench` is this process (load generator, raw broker loop, bookkeeping). */
  seconds: Record<string, number>
  /** name → % of one core (200% = both cores of a 2-core machine). */
  percentOfCore: Record<string, number>
  /** Every other process on the machine (other engineers' tests, the OS). */
  otherPercentOfCore: number
  /** Busy share of all the machine's cores, 0–100. */
  machineBusyPercent: number
  /** PSI: % of the time at least one task waited for a CPU / for IO (undefined without /proc/pressure). */
  cpuPressurePercent: number | undefined
  ioPressurePercent: number | undefined
}

export function cpuSnapshot (pids: Record<string, number | undefined>): CpuSnapshot {
  const usage = process.cpuUsage()
  const snap: CpuSnapshot = { at: performance.now(), pressure: pressure(), bench: (usage.user + usage.system) / 1e6, machine: machineSeconds(), pids: {} }
  for (const [name, pid] of Object.entries(pids)) if (pid !== undefined) snap.pids[name] = cpuSeconds(pid)
  return snap
}

export function cpuShare (a: CpuSnapshot, b: CpuSnapshot): CpuShare {
  const wall = (b.at - a.at) / 1000
  const seconds: Record<string, number> = { bench: b.bench - a.bench }
  for (const name of Object.keys(a.pids)) seconds[name] = Math.max(0, (b.pids[name] ?? 0) - a.pids[name]!)
  const percentOfCore: Record<string, number> = {}
  for (const [name, s] of Object.entries(seconds)) percentOfCore[name] = 100 * s / wall
  const busy = b.machine.busy - a.machine.busy
  const ours = Object.values(seconds).reduce((x, y) => x + y, 0)
  const totalDelta = b.machine.total - a.machine.total
  return {
    wallSeconds: wall,
    seconds,
    percentOfCore,
    otherPercentOfCore: Math.max(0, 100 * (busy - ours) / wall),
    machineBusyPercent: totalDelta > 0 ? 100 * busy / totalDelta : 0,
    cpuPressurePercent: a.pressure === undefined || b.pressure === undefined ? undefined : (b.pressure.cpu - a.pressure.cpu) / 1e4 / wall,
    ioPressurePercent: a.pressure === undefined || b.pressure === undefined ? undefined : (b.pressure.io - a.pressure.io) / 1e4 / wall
  }
}

/** Samples the RSS of some processes every `everyMs`; keeps each one's peak. */
export function startMemorySampler (pids: Record<string, number>, everyMs = 200) {
  const peak: Record<string, number> = {}
  const sample = (): void => {
    for (const [name, pid] of Object.entries(pids)) {
      const m = memoryMb(pid)
      if (m !== undefined) peak[name] = Math.max(peak[name] ?? 0, m.rss, m.hwm)
    }
  }
  sample()
  const timer = setInterval(sample, everyMs)
  timer.unref()
  return {
    peak: (): Record<string, number> => { sample(); return { ...peak } },
    stop: (): void => { clearInterval(timer) }
  }
}

/** The median RSS of each process over `ms` (a quiet moment: no load). */
export async function quietRss (pids: Record<string, number>, ms = 2000, everyMs = 100): Promise<Record<string, number>> {
  const samples: Record<string, number[]> = {}
  const end = performance.now() + ms
  while (performance.now() < end) {
    for (const [name, pid] of Object.entries(pids)) {
      const m = memoryMb(pid)
      if (m !== undefined) (samples[name] ??= []).push(m.rss)
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
  const out: Record<string, number> = {}
  for (const [name, list] of Object.entries(samples)) out[name] = list.sort((x, y) => x - y)[Math.floor(list.length / 2)]!
  return out
}

import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PORT_VARIABLE, ROOT, startService, stopService, type RunningService, type ServiceName } from '../lib/launch/service.js'
import { AMQP_URL, deleteTopology } from '../lib/launch/system.js'
import { freePort } from '../lib/launch/net.js'

export interface BenchService extends RunningService {
  /** Asks bench/probe.cjs in the service for a full GC, then its process.memoryUsage(), in MB. */
  memoryAfterGc: () => Promise<MemoryAfterGc>
}

export interface MemoryAfterGc { rss: number, heapUsed: number, heapTotal: number, external: number, arrayBuffers: number }

let gcRequests = 0

/**
 * The shared launcher's service (lib/launch/service.ts) on a free port, with
 * node flags and an IPC channel for bench/probe.cjs (full GC on request).
 * The port is chosen here so that a LOG_LEVEL hiding the `ready` line still
 * starts (ready once the port accepts connections); log lines are not kept.
 */
async function startBenchService (name: ServiceName, env: Record<string, string>, execArgv: string[]): Promise<BenchService> {
  const port = await freePort()
  const s = await startService(name, { env: { ...env, [PORT_VARIABLE[name]]: String(port) }, execArgv, ipc: true, timeoutMs: 60_000, keepLines: false })
  const child = s.process
  const memoryAfterGc = async (): Promise<MemoryAfterGc> => await new Promise((resolve, reject) => {
    const id = ++gcRequests
    const timer = setTimeout(() => { child.off('message', onMessage); reject(new Error(`${name}: no answer to bench:gc`)) }, 10_000)
    function onMessage (m: any): void {
      if (m?.type !== 'bench:memory' || m.id !== id) return
      clearTimeout(timer)
      child.off('message', onMessage)
      const mb = (n: number): number => n / 2 ** 20
      resolve({ rss: mb(m.rss), heapUsed: mb(m.heapUsed), heapTotal: mb(m.heapTotal), external: mb(m.external), arrayBuffers: mb(m.arrayBuffers) })
    }
    child.on('message', onMessage)
    child.send({ type: 'bench:gc', id })
  })
  return { ...s, memoryAfterGc }
}

export interface BenchSystem {
  dir: string
  prefix: string
  usuarios: BenchService
  pagos: BenchService
  gateway: BenchService
  /** ms from spawn to the service's `ready` log line, each started alone. */
  startupMs: Record<ServiceName, number>
  /** Bearer key the gateway wants (--gateway-auth), else undefined. */
  apiKey: string | undefined
  /** Env every service got (without secrets); `service:KEY` entries went to that service only. */
  env: Record<string, string>
  profileDir: string | undefined
  /** Per service, what bench/probe.cjs wrote on exit: event-loop delay, and with --probe SQLite statement timings. */
  probeFiles: Record<ServiceName, string>
  pids: () => Record<ServiceName, number>
  /** Stops the services (SIGTERM: profiles and timings are written on exit) and removes the broker names. */
  stop: () => Promise<void>
  /** Removes the temp dir, unless it holds CPU profiles or --keep was given. */
  cleanup: () => void
}

export interface SystemOptions {
  prefetch: number
  env: Record<string, string>
  gatewayAuth: boolean
  profile: boolean
  probe: boolean
  /** Keep the temp dir (data, logs) after the run. */
  keep: boolean
}

/**
 * usuarios, pagos and the gateway from dist/, on free ports, with a fresh
 * data dir and a unique AMQP_PREFIX on the local broker. Started one after
 * the other so that each start-up time is measured with the cores free.
 * The gateway's rate limit is off (RATE_LIMIT_MAX=0): the bench is one client.
 */
export async function startBenchSystem (opts: SystemOptions): Promise<BenchSystem> {
  const dir = mkdtempSync(join(tmpdir(), 'pagos-bench-'))
  const prefix = `bench.${process.pid}.${Date.now().toString(36)}`
  const apiKey = opts.gatewayAuth ? randomBytes(24).toString('base64url') : undefined
  const env: Record<string, string> = {
    DATA_DIR: join(dir, 'data'),
    LOG_DIR: join(dir, 'logs'),
    AMQP_URL,
    AMQP_PREFIX: prefix,
    AMQP_PREFETCH: String(opts.prefetch),
    LOG_LEVEL: 'info',
    RATE_LIMIT_MAX: '0',
    GATEWAY_API_KEYS: '',
    ...Object.fromEntries(Object.entries(opts.env).filter(([k]) => !k.includes(':')))
  }
  /** `--env gateway:LOG_LEVEL=warn` applies to that service only. */
  const only = (name: ServiceName): Record<string, string> =>
    Object.fromEntries(Object.entries(opts.env).filter(([k]) => k.startsWith(`${name}:`)).map(([k, v]) => [k.slice(name.length + 1), v]))
  const profileDir = opts.profile ? join(dir, 'profiles') : undefined
  if (profileDir !== undefined) mkdirSync(profileDir, { recursive: true })
  const probeFiles: Record<ServiceName, string> = {
    usuarios: join(dir, 'usuarios-probe.json'),
    pagos: join(dir, 'pagos-probe.json'),
    gateway: join(dir, 'gateway-probe.json')
  }
  const execArgv = (name: ServiceName): string[] => [
    ...(profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}.cpuprofile`]),
    // As deployed (node_flags in deploy/lib.sh, ExecStart in the systemd units).
    `--max-semi-space-size=${name === 'gateway' ? 16 : 8}`,
    '--expose-gc',
    '--require', join(ROOT, 'bench', 'probe.cjs')
  ]

  const started: BenchService[] = []
  const startupMs = {} as Record<ServiceName, number>
  const start = async (name: ServiceName, extra: Record<string, string> = {}): Promise<BenchService> => {
    const t0 = performance.now()
    const probe = { BENCH_PROBE_FILE: probeFiles[name], ...(opts.probe && name !== 'gateway' ? { BENCH_PROBE_SQLITE: '1' } : {}) }
    const s = await startBenchService(name, { ...env, ...extra, ...only(name), ...probe }, execArgv(name))
    startupMs[name] = performance.now() - t0
    started.push(s)
    return s
  }
  const stopAll = async (): Promise<void> => {
    for (const s of [...started].reverse()) await stopService(s, 30_000)
  }
  try {
    const usuarios = await start('usuarios')
    const pagos = await start('pagos')
    const gateway = await start('gateway', {
      USUARIOS_URL: usuarios.url,
      PAGOS_URL: pagos.url,
      ...(apiKey === undefined ? {} : { GATEWAY_API_KEYS: apiKey })
    })
    return {
      dir,
      prefix,
      usuarios,
      pagos,
      gateway,
      startupMs,
      apiKey,
      env: { ...env, ...Object.fromEntries(Object.entries(opts.env).filter(([k]) => k.includes(':'))) },
      profileDir,
      probeFiles,
      pids: () => ({ usuarios: usuarios.process.pid!, pagos: pagos.process.pid!, gateway: gateway.process.pid! }),
      async stop () {
        await stopAll()
        await deleteTopology(prefix).catch(() => {})
      },
      cleanup () {
        if (profileDir === undefined && !opts.keep) rmSync(dir, { recursive: true, force: true })
      }
    }
  } catch (err) {
    await stopAll()
    await deleteTopology(prefix).catch(() => {})
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
}

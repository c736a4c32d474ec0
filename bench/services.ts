import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { AMQP_URL, deleteTopology } from '../test/helpers/system.js'
import { canConnect, freePort } from './net.js'
import { sleep } from './stats.js'

const ROOT = resolve(import.meta.dirname, '..')

export type ServiceName = 'usuarios' | 'pagos' | 'gateway'

export interface RunningService {
  name: ServiceName
  url: string
  port: number
  process: ChildProcess
  exited: Promise<number | null>
  /** Asks bench/probe.cjs in the service for a full GC, then its process.memoryUsage(), in MB. */
  memoryAfterGc: () => Promise<MemoryAfterGc>
}

export interface MemoryAfterGc { rss: number, heapUsed: number, heapTotal: number, external: number, arrayBuffers: number }

let gcRequests = 0

/**
 * `node [execArgv] dist/<name>/server.js` on a free port; resolves once it
 * logged `ready` — or, when LOG_LEVEL hides that line, once its port accepts
 * connections (the line is logged right after listen) — then stops reading
 * its output (it keeps flowing, as it would to the journal). Like
 * test/helpers/system.ts, plus node flags (`--cpu-prof` is not allowed in
 * NODE_OPTIONS).
 */
async function startService (name: ServiceName, env: Record<string, string>, execArgv: string[]): Promise<RunningService> {
  const portVar = { usuarios: 'USUARIOS_PORT', pagos: 'PAGOS_PORT', gateway: 'GATEWAY_PORT' }[name]
  const port = await freePort()
  const child = spawn(process.execPath, [...execArgv, join(ROOT, 'dist', name, 'server.js')], {
    cwd: ROOT,
    env: { ...process.env, ...env, [portVar]: String(port), LOG_STDOUT: 'json', GATEWAY_HOST: '127.0.0.1' },
    // fd 3: an IPC channel for bench/probe.cjs (full GC on request).
    stdio: ['ignore', 'pipe', 'pipe', 'ipc']
  })
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString() })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const rl = createInterface({ input: child.stdout! })
  let ready = false
  rl.on('line', (line) => {
    if (line.includes('"msg":"ready"')) ready = true
  })
  const deadline = Date.now() + 60_000
  while (!ready && !await canConnect(port)) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${String(child.exitCode)} before ready: ${stderr}`)
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`${name} not ready after 60 s: ${stderr}`)
    }
    await sleep(10)
  }
  rl.close()
  child.stdout!.resume()
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
  return { name, url: `http://127.0.0.1:${port}`, port, process: child, exited, memoryAfterGc }
}

/** SIGTERM (graceful: the CPU profile is written on exit), then SIGKILL after the bound. */
async function stopService (s: RunningService, timeoutMs = 30_000): Promise<void> {
  if (s.process.exitCode !== null || s.process.signalCode !== null) return
  s.process.kill('SIGTERM')
  const timer = setTimeout(() => s.process.kill('SIGKILL'), timeoutMs)
  await s.exited
  clearTimeout(timer)
}

export interface BenchSystem {
  dir: string
  prefix: string
  usuarios: RunningService
  pagos: RunningService
  gateway: RunningService
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
    // As deployed (NODE_FLAGS in deploy/lib.sh, ExecStart in the systemd units).
    '--max-semi-space-size=8',
    '--expose-gc',
    '--require', join(ROOT, 'bench', 'probe.cjs')
  ]

  const started: RunningService[] = []
  const startupMs = {} as Record<ServiceName, number>
  const start = async (name: ServiceName, extra: Record<string, string> = {}): Promise<RunningService> => {
    const t0 = performance.now()
    const probe = { BENCH_PROBE_FILE: probeFiles[name], ...(opts.probe && name !== 'gateway' ? { BENCH_PROBE_SQLITE: '1' } : {}) }
    const s = await startService(name, { ...env, ...extra, ...only(name), ...probe }, execArgv(name))
    startupMs[name] = performance.now() - t0
    started.push(s)
    return s
  }
  const stopAll = async (): Promise<void> => {
    for (const s of [...started].reverse()) await stopService(s)
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

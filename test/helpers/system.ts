import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { Connection } from 'rabbitmq-client'
import { topology } from '../../contracts/topology.js'
import { DEFAULT_AMQP_URL } from '../../lib/process/env-schema.js'
import { createTestDatabase, type TestDatabase } from './postgres.js'

const ROOT = resolve(import.meta.dirname, '..', '..')
export const AMQP_URL = process.env.AMQP_URL ?? DEFAULT_AMQP_URL

export type ServiceName = 'usuarios' | 'pagos' | 'gateway'

export interface RunningService {
  name: ServiceName
  url: string
  port: number
  process: ChildProcess
  /** Every JSON log line the service printed. */
  lines: Array<Record<string, unknown>>
  exited: Promise<number | null>
}

export interface System {
  dir: string
  prefix: string
  env: NodeJS.ProcessEnv
  usuarios: RunningService
  pagos: RunningService
  gateway: RunningService
  stop: () => Promise<void>
}

/** A run-unique prefix for every exchange and queue the test creates. */
export function uniquePrefix (label: string): string {
  return `test.${label}.${process.pid}.${Date.now().toString(36)}`
}

/**
 * Starts one built service (dist/) on a free port and resolves once it logged
 * `ready`. keepLines false: stop reading its log lines once ready (benchmarks).
 */
export async function startService (name: ServiceName, env: NodeJS.ProcessEnv, timeoutMs = 30_000, keepLines = true): Promise<RunningService> {
  const portVar = { usuarios: 'USUARIOS_PORT', pagos: 'PAGOS_PORT', gateway: 'GATEWAY_PORT' }[name]
  const child = spawn(process.execPath, [join(ROOT, 'dist', name, 'server.js')], {
    cwd: ROOT,
    env: { ...process.env, ...env, [portVar]: env[portVar] ?? '0', LOG_STDOUT: 'json', GATEWAY_HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const lines: Array<Record<string, unknown>> = []
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} not ready after ${timeoutMs} ms: ${stderr}`)), timeoutMs)
    const rl = createInterface({ input: child.stdout! })
    rl.on('line', (line) => {
      let entry: Record<string, unknown>
      try { entry = JSON.parse(line) } catch { return }
      lines.push(entry)
      if (entry.msg === 'ready' && typeof entry.port === 'number') {
        clearTimeout(timer)
        resolve(entry.port)
        if (!keepLines) {
          rl.close()
          child.stdout!.resume()
        }
      }
    })
    void exited.then((code) => { clearTimeout(timer); reject(new Error(`${name} exited with ${String(code)} before ready: ${stderr}`)) })
  })
  return { name, url: `http://127.0.0.1:${port}`, port, process: child, lines, exited }
}

/** SIGTERM, then SIGKILL if it has not exited within the bound. */
export async function stopService (s: RunningService, timeoutMs = 15_000): Promise<number | null> {
  if (s.process.exitCode !== null || s.process.signalCode !== null) return s.process.exitCode
  s.process.kill('SIGTERM')
  const timer = setTimeout(() => s.process.kill('SIGKILL'), timeoutMs)
  const code = await s.exited
  clearTimeout(timer)
  return code
}

/** Deletes every queue and exchange of a test prefix. */
export async function deleteTopology (prefix: string, url = AMQP_URL): Promise<void> {
  const rabbit = new Connection({ url, connectionTimeout: 5000 })
  rabbit.on('error', () => {})
  try {
    const t = topology(prefix)
    for (const q of Object.values(t.queues)) {
      await rabbit.queueDelete({ queue: q.queue })
      await rabbit.queueDelete({ queue: q.retryQueue })
      await rabbit.queueDelete({ queue: q.deadLetterQueue })
    }
    await rabbit.exchangeDelete({ exchange: t.exchange })
    await rabbit.exchangeDelete({ exchange: t.deadLetterExchange })
  } finally {
    await rabbit.close()
  }
}

/** usuarios + pagos + gateway as real processes, with their own data dir and broker names. */
export async function startSystem (label: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<System> {
  const dir = mkdtempSync(join(tmpdir(), `pagos-${label}-`))
  const prefix = uniquePrefix(label)
  const env: NodeJS.ProcessEnv = {
    DATA_DIR: join(dir, 'data'),
    LOG_DIR: join(dir, 'logs'),
    AMQP_URL,
    AMQP_PREFIX: prefix,
    LOG_LEVEL: 'info',
    ...extraEnv
  }
  const [usuarios, pagos] = await Promise.all([startService('usuarios', env), startService('pagos', env)])
  const gateway = await startService('gateway', { ...env, USUARIOS_URL: usuarios.url, PAGOS_URL: pagos.url })
  return {
    dir,
    prefix,
    env,
    usuarios,
    pagos,
    gateway,
    async stop () {
      await stopService(gateway)
      await Promise.all([stopService(usuarios), stopService(pagos)])
      await deleteTopology(prefix)
    }
  }
}

export interface ClusterOptions {
  usuarios: number
  pagos: number
  /** postgres: a fresh database per service, shared by its instances and dropped by stop(). sqlite: one file per service (one instance each). */
  database: 'sqlite' | 'postgres'
  env?: NodeJS.ProcessEnv
  /** false: don't keep the instances' log lines (benchmarks). */
  keepLines?: boolean
}

export interface Cluster {
  dir: string
  prefix: string
  env: NodeJS.ProcessEnv
  gateway: RunningService
  usuarios: RunningService[]
  pagos: RunningService[]
  stop: () => Promise<void>
}

/**
 * N usuarios and M pagos processes (started together, so they also race to
 * migrate and seed) behind one gateway that lists them all, on one broker
 * prefix. Each instance logs to its own directory (LOG_DIR/<service>-<n>).
 */
export async function startCluster (label: string, opts: ClusterOptions): Promise<Cluster> {
  if (opts.database === 'sqlite' && (opts.usuarios > 1 || opts.pagos > 1)) throw new Error('several instances of a service need PostgreSQL')
  const dir = mkdtempSync(join(tmpdir(), `pagos-${label}-`))
  const prefix = uniquePrefix(label)
  const databases: TestDatabase[] = []
  const stopAll: Array<() => Promise<void>> = []
  const env: NodeJS.ProcessEnv = {
    DATA_DIR: join(dir, 'data'),
    AMQP_URL,
    AMQP_PREFIX: prefix,
    LOG_LEVEL: 'info',
    ...opts.env
  }
  try {
    if (opts.database === 'postgres') {
      const [u, p] = await Promise.all([createTestDatabase(`${label}u`), createTestDatabase(`${label}p`)])
      databases.push(u, p)
      env.USUARIOS_DATABASE_URL = u.url
      env.PAGOS_DATABASE_URL = p.url
    }
    const many = async (name: 'usuarios' | 'pagos', n: number): Promise<RunningService[]> =>
      await Promise.all(Array.from({ length: n }, async (_, i) => {
        const s = await startService(name, { ...env, LOG_DIR: join(dir, 'logs', `${name}-${i + 1}`) }, 60_000, opts.keepLines ?? true)
        stopAll.push(async () => { await stopService(s) })
        return s
      }))
    const [usuarios, pagos] = await Promise.all([many('usuarios', opts.usuarios), many('pagos', opts.pagos)])
    const gateway = await startService('gateway', {
      ...env,
      LOG_DIR: join(dir, 'logs', 'gateway'),
      USUARIOS_URL: usuarios.map((s) => s.url).join(','),
      PAGOS_URL: pagos.map((s) => s.url).join(',')
    }, 60_000, opts.keepLines ?? true)
    const cleanup = async (): Promise<void> => {
      await stopService(gateway)
      await Promise.all(stopAll.map(async (f) => await f()))
      await deleteTopology(prefix)
      await Promise.all(databases.map(async (d) => await d.drop()))
    }
    return { dir, prefix, env, gateway, usuarios, pagos, stop: cleanup }
  } catch (err) {
    await Promise.all(stopAll.map(async (f) => await f()))
    await Promise.all(databases.map(async (d) => await d.drop().catch(() => {})))
    throw err
  }
}


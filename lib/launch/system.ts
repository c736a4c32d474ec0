import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Connection } from 'rabbitmq-client'
import { topology } from '../../contracts/topology.js'
import { DEFAULT_AMQP_URL } from '../process/env-schema.js'
import { createTestDatabase, type TestDatabase } from './postgres.js'
import { startService, stopService, type RunningService } from './service.js'

/*
 * Whole systems of built services for the tests, the benchmarks and the
 * chaos run: usuarios + pagos + gateway (startSystem), or several instances
 * per service on PostgreSQL (startCluster), each on its own broker names.
 */

/** The broker the tests and benchmarks use: AMQP_URL, else the services' own default. */
export const AMQP_URL = process.env.AMQP_URL ?? DEFAULT_AMQP_URL

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
  const [usuarios, pagos] = await Promise.all([startService('usuarios', { env }), startService('pagos', { env })])
  const gateway = await startService('gateway', { env: { ...env, USUARIOS_URL: usuarios.url, PAGOS_URL: pagos.url } })
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
  /** Node flags for each usuarios and pagos instance, given its name and 1-based number (e.g. `--cpu-prof`). */
  execArgv?: (name: 'usuarios' | 'pagos', n: number) => string[]
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
        const s = await startService(name, {
          env: { ...env, LOG_DIR: join(dir, 'logs', `${name}-${i + 1}`) },
          execArgv: opts.execArgv?.(name, i + 1),
          timeoutMs: 60_000,
          keepLines: opts.keepLines ?? true
        })
        stopAll.push(async () => { await stopService(s) })
        return s
      }))
    const [usuarios, pagos] = await Promise.all([many('usuarios', opts.usuarios), many('pagos', opts.pagos)])
    const gateway = await startService('gateway', {
      env: {
        ...env,
        LOG_DIR: join(dir, 'logs', 'gateway'),
        USUARIOS_URL: usuarios.map((s) => s.url).join(','),
        PAGOS_URL: pagos.map((s) => s.url).join(',')
      },
      timeoutMs: 60_000,
      keepLines: opts.keepLines ?? true
    })
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

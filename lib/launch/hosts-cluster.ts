import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHosts, type Hosts } from './netns.js'
import { startPrivatePostgres, type PrivatePostgres } from './private-postgres.js'
import { startPrivateBroker, type PrivateBroker } from './private-rabbitmq.js'
import { startService, stopService, type RunningService } from './service.js'
import { uniquePrefix, type Cluster } from './system.js'

/*
 * startCluster's system spread over several hosts of one machine
 * (lib/launch/netns.ts): every usuarios and pagos instance, the gateway, a
 * private PostgreSQL (pg_stat_statements loaded) and a private RabbitMQ
 * (rabbitmq_prometheus on) each on a network namespace of its own, with
 * delayMs of latency on every packet a host sends. Nothing of the machine's
 * PostgreSQL or RabbitMQ is used.
 */

export interface HostsClusterOptions {
  usuarios: number
  pagos: number
  /** One-way latency per hop, in ms (lib/launch/netns.ts); default 1. */
  delayMs?: number
  env?: NodeJS.ProcessEnv
  /** false: don't keep the instances' log lines (benchmarks). */
  keepLines?: boolean
}

export interface HostsCluster extends Cluster {
  hosts: Hosts
  postgres: PrivatePostgres
  broker: PrivateBroker
  /** The databases' names on postgres: usuarios and pagos. */
  databases: { usuarios: string, pagos: string }
  /** rabbitmq_prometheus's counters: http://<mq host>:15692/metrics. */
  brokerMetricsUrl: string
}

/** Hosts named pg, mq, usuarios-<n>, pagos-<n> and gateway; see the comment above. Removes everything it made if a start fails. */
export async function startHostsCluster (label: string, opts: HostsClusterOptions): Promise<HostsCluster> {
  const names = ['pg', 'mq', ...Array.from({ length: opts.usuarios }, (_, i) => `usuarios-${i + 1}`), ...Array.from({ length: opts.pagos }, (_, i) => `pagos-${i + 1}`), 'gateway']
  const hosts = await createHosts(names, { delayMs: opts.delayMs ?? 1 })
  const dir = mkdtempSync(join(tmpdir(), `pagos-${label}-`))
  // An interrupted run kills the servers rather than stopping them: their folders go with the hosts.
  hosts.removeWith(dir)
  const prefix = uniquePrefix(label)
  const services: RunningService[] = []
  let postgres: PrivatePostgres | undefined
  let broker: PrivateBroker | undefined
  let stopped = false
  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    try {
      const gateway = services.find((s) => s.name === 'gateway')
      if (gateway !== undefined) await stopService(gateway)
      await Promise.all(services.filter((s) => s !== gateway).map(async (s) => await stopService(s)))
      // The broker's graceful stop takes ~15 s in a namespace; nothing of it is kept anyway.
      broker?.kill()
      await postgres?.shutdown().catch(() => {})
    } finally {
      hosts.remove()
    }
  }
  try {
    const pg = hosts.host('pg')
    const mq = hosts.host('mq')
    ;[postgres, broker] = await Promise.all([
      startPrivatePostgres({
        host: pg.address,
        wrap: pg.wrap,
        trustNetwork: `${hosts.clientAddress}/24`,
        settings: { shared_preload_libraries: 'pg_stat_statements' },
        onFolder: hosts.removeWith
      }),
      startPrivateBroker({ host: mq.address, wrap: mq.wrap, plugins: ['rabbitmq_prometheus'], onFolder: hosts.removeWith })
    ])
    const [usuariosUrl, pagosUrl] = await Promise.all([postgres.createDatabase('usuarios'), postgres.createDatabase('pagos')])
    const env: NodeJS.ProcessEnv = {
      DATA_DIR: join(dir, 'data'),
      AMQP_URL: broker.url,
      AMQP_PREFIX: prefix,
      LOG_LEVEL: 'info',
      USUARIOS_DATABASE_URL: usuariosUrl,
      PAGOS_DATABASE_URL: pagosUrl,
      ...opts.env
    }
    const keepLines = opts.keepLines ?? true
    const start = async (name: 'usuarios' | 'pagos' | 'gateway', hostName: string, extra: NodeJS.ProcessEnv = {}): Promise<RunningService> => {
      const h = hosts.host(hostName)
      const s = await startService(name, { wrap: h.wrap, host: h.address, env: { ...env, LOG_DIR: join(dir, 'logs', hostName), ...extra }, timeoutMs: 60_000, keepLines })
      services.push(s)
      return s
    }
    const [usuarios, pagos] = await Promise.all([
      Promise.all(Array.from({ length: opts.usuarios }, async (_, i) => await start('usuarios', `usuarios-${i + 1}`))),
      Promise.all(Array.from({ length: opts.pagos }, async (_, i) => await start('pagos', `pagos-${i + 1}`)))
    ])
    const gateway = await start('gateway', 'gateway', {
      USUARIOS_URL: usuarios.map((s) => s.url).join(','),
      PAGOS_URL: pagos.map((s) => s.url).join(',')
    })
    return {
      dir,
      prefix,
      env,
      gateway,
      usuarios,
      pagos,
      stop,
      hosts,
      postgres,
      broker,
      databases: { usuarios: 'usuarios', pagos: 'pagos' },
      brokerMetricsUrl: `http://${mq.address}:15692/metrics`
    }
  } catch (err) {
    await stop()
    throw err
  }
}

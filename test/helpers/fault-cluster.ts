import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../../lib/launch/net.js'
import { PORT_VARIABLE, startService, stopService, type RunningService, type ServiceName } from '../../lib/launch/service.js'
import { uniquePrefix } from '../../lib/launch/system.js'

/**
 * N usuarios and N pagos instances and one gateway, each on a fixed free
 * port of its own, so that a killed instance comes back at the same address
 * behind the same gateway (which lists them all). One instance per service
 * may run on SQLite (DATA_DIR); more need USUARIOS_DATABASE_URL and
 * PAGOS_DATABASE_URL in env. The caller owns the broker and the databases.
 */
export interface FaultCluster {
  prefix: string
  dir: string
  /** The gateway, and the first instance of each service (they share their database: any one answers for all). */
  urls: { gateway: string, usuarios: string, pagos: string }
  /** Every instance: 'usuarios-1', 'pagos-2', 'gateway'. */
  instances: string[]
  kill9: (instance: string) => Promise<void>
  start: (instance: string) => Promise<void>
  stop: () => Promise<void>
}

export interface FaultClusterOptions {
  /** Instances of usuarios and of pagos each. */
  instances: number
  env: NodeJS.ProcessEnv
}

export async function startFaultCluster (label: string, opts: FaultClusterOptions): Promise<FaultCluster> {
  const dir = mkdtempSync(join(tmpdir(), `pagos-${label}-`))
  const prefix = uniquePrefix(label)
  const serviceOf = (instance: string): ServiceName => instance.split('-')[0] as ServiceName
  const names = (service: ServiceName): string[] => Array.from({ length: opts.instances }, (_, i) => `${service}-${i + 1}`)
  const instances = [...names('usuarios'), ...names('pagos'), 'gateway']
  const ports = new Map<string, number>()
  for (const i of instances) ports.set(i, await freePort())
  const url = (instance: string): string => `http://127.0.0.1:${ports.get(instance)!}`
  const env: NodeJS.ProcessEnv = {
    DATA_DIR: join(dir, 'data'),
    AMQP_PREFIX: prefix,
    AMQP_RETRY_DELAY_MS: '100',
    USUARIOS_URL: names('usuarios').map(url).join(','),
    PAGOS_URL: names('pagos').map(url).join(','),
    ...opts.env
  }
  const running = new Map<string, RunningService>()
  const start = async (instance: string): Promise<void> => {
    const service = serviceOf(instance)
    running.set(instance, await startService(service, {
      env: { ...env, LOG_DIR: join(dir, 'logs', instance), [PORT_VARIABLE[service]]: String(ports.get(instance)!) },
      timeoutMs: 60_000,
      keepLines: false
    }))
  }
  const stop = async (): Promise<void> => {
    const stopped = async (i: string): Promise<void> => { const s = running.get(i); if (s !== undefined) await stopService(s) }
    await stopped('gateway')
    await Promise.all(instances.filter((i) => i !== 'gateway').map(stopped))
  }
  try {
    await Promise.all(instances.filter((i) => i !== 'gateway').map(start))
    await start('gateway')
  } catch (err) {
    await stop()
    throw err
  }
  return {
    prefix,
    dir,
    urls: { gateway: url('gateway'), usuarios: url('usuarios-1'), pagos: url('pagos-1') },
    instances,
    start,
    stop,
    async kill9 (instance) {
      const s = running.get(instance)!
      s.process.kill('SIGKILL')
      await s.exited
    }
  }
}

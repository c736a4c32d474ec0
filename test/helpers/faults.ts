import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../../lib/launch/net.js'
import { startService, stopService, type RunningService, type ServiceName } from '../../lib/launch/service.js'
import { AMQP_URL, deleteTopology, uniquePrefix } from '../../lib/launch/system.js'

/**
 * The three services on fixed free ports, so that a killed service comes
 * back at the same address behind the same gateway.
 */
export interface FaultSystem {
  prefix: string
  dir: string
  urls: { gateway: string, usuarios: string, pagos: string }
  current: (name: ServiceName) => RunningService
  kill9: (name: ServiceName) => Promise<void>
  /** SIGTERM; resolves with the exit code. */
  terminate: (name: ServiceName) => Promise<number | null>
  /** (Re)starts a service; `override` changes its env for this start only. */
  start: (name: ServiceName, override?: NodeJS.ProcessEnv) => Promise<void>
  stop: () => Promise<void>
}

export { freePort }

export async function startFaultSystem (label: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<FaultSystem> {
  const dir = mkdtempSync(join(tmpdir(), `pagos-${label}-`))
  const prefix = uniquePrefix(label)
  const ports = { usuarios: await freePort(), pagos: await freePort(), gateway: await freePort() }
  const urls = {
    usuarios: `http://127.0.0.1:${ports.usuarios}`,
    pagos: `http://127.0.0.1:${ports.pagos}`,
    gateway: `http://127.0.0.1:${ports.gateway}`
  }
  const env: NodeJS.ProcessEnv = {
    DATA_DIR: join(dir, 'data'),
    LOG_DIR: join(dir, 'logs'),
    AMQP_URL,
    AMQP_PREFIX: prefix,
    AMQP_RETRY_DELAY_MS: '100',
    USUARIOS_URL: urls.usuarios,
    PAGOS_URL: urls.pagos,
    USUARIOS_PORT: String(ports.usuarios),
    PAGOS_PORT: String(ports.pagos),
    GATEWAY_PORT: String(ports.gateway),
    ...extraEnv
  }
  const running = new Map<ServiceName, RunningService>()
  const start = async (name: ServiceName, override: NodeJS.ProcessEnv = {}): Promise<void> => { running.set(name, await startService(name, { env: { ...env, ...override } })) }
  await Promise.all([start('usuarios'), start('pagos')])
  await start('gateway')
  const current = (name: ServiceName): RunningService => running.get(name)!
  return {
    prefix,
    dir,
    urls,
    current,
    start,
    async kill9 (name) {
      const s = current(name)
      s.process.kill('SIGKILL')
      await s.exited
    },
    async terminate (name) {
      const s = current(name)
      s.process.kill('SIGTERM')
      return await s.exited
    },
    async stop () {
      await stopService(current('gateway'))
      await Promise.all([stopService(current('usuarios')), stopService(current('pagos'))])
      await deleteTopology(prefix, env.AMQP_URL)
    }
  }
}

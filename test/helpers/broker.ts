import { execFile } from 'node:child_process'
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { killOnExit } from '../../lib/launch/service.js'
import { freePort } from './faults.js'
import { waitFor } from './poll.js'

const run = promisify(execFile)

/**
 * A RabbitMQ node of the test's own, on free ports, so that a test can stop
 * and start the broker (or drop every connection) without touching the
 * machine's shared broker or other tests running at the same time.
 */
export interface PrivateBroker {
  url: string
  node: string
  stopApp: () => Promise<void>
  startApp: () => Promise<void>
  closeAllConnections: () => Promise<void>
  shutdown: () => Promise<void>
}

/** rabbitmqctl against the node; killed with the run if the run ends first (it may wait long on a node that is gone). */
async function ctl (node: string, ...args: string[]): Promise<string> {
  const pending = run('rabbitmqctl', ['-q', '-n', node, ...args], { timeout: 90_000 })
  const forget = pending.child.pid === undefined ? () => {} : killOnExit(pending.child.pid)
  try {
    const { stdout } = await pending
    return stdout
  } finally {
    forget()
  }
}

export async function startPrivateBroker (): Promise<PrivateBroker> {
  const dir = mkdtempSync(join(tmpdir(), 'rabbit-'))
  const [port, distPort] = [await freePort(), await freePort()]
  const node = `pagostest${process.pid}x${Date.now().toString(36)}@localhost`
  writeFileSync(join(dir, 'rabbitmq.conf'), `listeners.tcp.default = 127.0.0.1:${port}\n`)
  // Debian's rabbitmq-server drops to the rabbitmq user: it must own the folder.
  try { chownSync(dir, ...(await ids())) } catch { chmodSync(dir, 0o777) }
  const env = {
    ...process.env,
    RABBITMQ_NODENAME: node,
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_PID_FILE: join(dir, 'pid')
  }
  await run('rabbitmq-server', ['-detached'], { env, timeout: 30_000 })
  // It daemonizes itself: killed by pid if this process ends before shutdown() (lib/launch/service.ts).
  const pid = await waitFor('the private RabbitMQ pid file', () => {
    try { return Number(readFileSync(join(dir, 'pid'), 'utf8').trim()) || undefined } catch { return undefined }
  }, { timeoutMs: 60_000, intervalMs: 100 })
  const forget = killOnExit(pid)
  await waitFor(`private RabbitMQ ${node}`, async () => { await ctl(node, 'await_startup', '--timeout', '5'); return true }, { timeoutMs: 90_000, intervalMs: 500 })
  return {
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    node,
    stopApp: async () => { await ctl(node, 'stop_app') },
    startApp: async () => { await ctl(node, 'start_app'); await ctl(node, 'await_startup', '--timeout', '60') },
    closeAllConnections: async () => { await ctl(node, 'close_all_connections', 'test fault') },
    shutdown: async () => {
      try { await ctl(node, 'stop') } finally { forget(); rmSync(dir, { recursive: true, force: true }) }
    }
  }
}

async function ids (): Promise<[number, number]> {
  const { stdout } = await run('id', ['rabbitmq'])
  const uid = Number(/uid=(\d+)/.exec(stdout)?.[1])
  const gid = Number(/gid=(\d+)/.exec(stdout)?.[1])
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error('no rabbitmq user')
  return [uid, gid]
}

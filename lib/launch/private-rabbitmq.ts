import { execFile } from 'node:child_process'
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort, waitFor } from './net.js'
import { cleanupOnExit, killOnExit } from './service.js'
import { systemUserIds } from './system-user.js'

const run = promisify(execFile)

/**
 * A RabbitMQ node of the run's own (a test, the chaos run, a benchmark), on
 * free ports, so that it can stop and start the broker (or drop every
 * connection) without touching the machine's shared broker or other runs at
 * the same time. Killed by pid whatever way the launching process ends.
 */
export interface PrivateBroker {
  url: string
  node: string
  /** False between stopApp() and the end of startApp(). */
  isRunning: () => boolean
  /** Its folder (config, mnesia, logs), removed by shutdown() and kill(). */
  dir: string
  stopApp: () => Promise<void>
  startApp: () => Promise<void>
  /** stop_app, join_cluster `other` (a node name), start_app. */
  joinCluster: (other: string) => Promise<void>
  closeAllConnections: () => Promise<void>
  shutdown: () => Promise<void>
  /** SIGKILL (a host that loses power: `rabbitmqctl stop` takes ~15 s in a network namespace here) and removes its folder. */
  kill: () => void
}

export interface PrivateBrokerOptions {
  /** The address its AMQP listener binds; default 127.0.0.1. */
  host?: string
  /** A command prefix rabbitmq-server and rabbitmqctl run under, e.g. ['ip', 'netns', 'exec', 'mq'] (its own network namespace). */
  wrap?: string[]
  /** Plugins to enable, e.g. ['rabbitmq_prometheus'] (its /metrics on port 15692 of host); default none. */
  plugins?: string[]
  /** Told the node's folder as soon as it exists (to remove it if the run dies before shutdown()). */
  onFolder?: (dir: string) => void
}

/** Several private nodes joined into one cluster (startPrivateCluster). */
export interface PrivateCluster {
  /** Every node's AMQP address in one comma-separated AMQP_URL (lib/messaging/amqp-url.ts). */
  url: string
  nodes: PrivateBroker[]
  /** Drops every client connection on each node whose app is running. */
  closeAllConnections: () => Promise<void>
  shutdown: () => Promise<void>
}

/** Nodes started by this process in the same millisecond still get distinct names. */
let nodeCount = 0

/** rabbitmqctl against the node; killed with the run if the run ends first (it may wait long on a node that is gone). */
async function ctl (wrap: string[], node: string, ...args: string[]): Promise<string> {
  const argv = [...wrap, 'rabbitmqctl', '-q', '-n', node, ...args]
  const pending = run(argv[0]!, argv.slice(1), { timeout: 90_000 })
  const forget = pending.child.pid === undefined ? () => {} : killOnExit(pending.child.pid)
  try {
    const { stdout } = await pending
    return stdout
  } finally {
    forget()
  }
}

/** Starts the node and resolves once it has booted (rejects after 90 s). */
export async function startPrivateBroker (opts: PrivateBrokerOptions = {}): Promise<PrivateBroker> {
  const host = opts.host ?? '127.0.0.1'
  const wrap = opts.wrap ?? []
  const dir = mkdtempSync(join(tmpdir(), 'rabbit-'))
  opts.onFolder?.(dir)
  // Removed whatever way this process ends (after the node is killed), unless shutdown() or kill() did it.
  const forgetFolder = cleanupOnExit(() => { rmSync(dir, { recursive: true, force: true }) })
  // In a network namespace of its own, nothing else listens: the standard ports.
  const [port, distPort] = wrap.length > 0 ? [5672, 25672] : [await freePort(), await freePort()]
  const node = `pagostest${process.pid}x${Date.now().toString(36)}n${++nodeCount}@localhost`
  // guest may log in from another host (a network namespace) too: a private node, never the machine's.
  writeFileSync(join(dir, 'rabbitmq.conf'), `listeners.tcp.default = ${host}:${port}\nloopback_users = none\n`)
  writeFileSync(join(dir, 'enabled_plugins'), `[${(opts.plugins ?? []).join(',')}].\n`)
  // Debian's rabbitmq-server drops to the rabbitmq user: it must own the folder.
  try { chownSync(dir, ...(await systemUserIds('rabbitmq', 'rabbitmq-server'))) } catch { chmodSync(dir, 0o777) }
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
  const server = [...wrap, 'rabbitmq-server', '-detached']
  await run(server[0]!, server.slice(1), { env, timeout: 30_000 })
  // It daemonizes itself: killed by pid if this process ends before shutdown() (lib/launch/service.ts).
  const pid = await waitFor('the private RabbitMQ pid file', () => {
    try { return Number(readFileSync(join(dir, 'pid'), 'utf8').trim()) || undefined } catch { return undefined }
  }, { timeoutMs: 60_000, intervalMs: 100 })
  const forget = killOnExit(pid)
  await waitFor(`private RabbitMQ ${node}`, async () => { await ctl(wrap, node, 'await_startup', '--timeout', '5'); return true }, { timeoutMs: 90_000, intervalMs: 500 })
  let running = true
  return {
    url: `amqp://guest:guest@${host}:${port}`,
    node,
    dir,
    isRunning: () => running,
    stopApp: async () => { running = false; await ctl(wrap, node, 'stop_app') },
    startApp: async () => { await ctl(wrap, node, 'start_app'); await ctl(wrap, node, 'await_startup', '--timeout', '60'); running = true },
    joinCluster: async (other) => {
      await ctl(wrap, node, 'stop_app')
      await ctl(wrap, node, 'join_cluster', other)
      await ctl(wrap, node, 'start_app')
      await ctl(wrap, node, 'await_startup', '--timeout', '60')
    },
    closeAllConnections: async () => { await ctl(wrap, node, 'close_all_connections', 'test fault') },
    shutdown: async () => {
      try { await ctl(wrap, node, 'stop') } finally { forget(); forgetFolder(); rmSync(dir, { recursive: true, force: true }) }
    },
    kill: () => {
      try { process.kill(pid, 'SIGKILL') } catch {}
      forget()
      forgetFolder()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

/**
 * `size` private nodes (each as startPrivateBroker: its own folder, ports
 * and name, killed with the run) joined into one cluster. They share the
 * rabbitmq user's Erlang cookie. Queues declared once the cluster is formed
 * get a replica on every node: quorum queues keep working while one node of
 * three is stopped.
 */
export async function startPrivateCluster (size = 3, opts: PrivateBrokerOptions = {}): Promise<PrivateCluster> {
  if (!Number.isInteger(size) || size < 1) throw new Error(`a cluster of ${size} nodes: give a whole number of 1 or more`)
  if ((opts.wrap ?? []).length > 0 && size > 1) throw new Error('a cluster in one network namespace would need distinct ports per node: not supported')
  const started = await Promise.allSettled(Array.from({ length: size }, async () => await startPrivateBroker(opts)))
  const nodes = started.flatMap((r) => r.status === 'fulfilled' ? [r.value] : [])
  const shutdown = async (): Promise<void> => { await Promise.allSettled(nodes.map(async (n) => { await n.shutdown() })) }
  try {
    const failed = started.find((r) => r.status === 'rejected')
    if (failed !== undefined) throw failed.reason
    for (const n of nodes.slice(1)) await n.joinCluster(nodes[0]!.node)
  } catch (err) {
    await shutdown()
    throw err
  }
  const first = new URL(nodes[0]!.url)
  const hosts = nodes.map((n) => new URL(n.url).host)
  return {
    url: `${first.protocol}//${first.username}:${first.password}@${hosts.join(',')}`,
    nodes,
    closeAllConnections: async () => { await Promise.all(nodes.filter((n) => n.isRunning()).map(async (n) => { await n.closeAllConnections() })) },
    shutdown
  }
}

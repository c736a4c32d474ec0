import { spawn, type ChildProcess } from 'node:child_process'
import { constants as osConstants } from 'node:os'
import { basename, join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { canConnect } from './net.js'

/*
 * Starts the built services (dist/<name>/server.js) as child processes: the
 * one launcher of the tests (lib/launch/system.ts), the benchmarks
 * (bench/services.ts, bench/scale.ts) and the chaos run. Not used by the
 * services themselves.
 *
 * Each service runs in its own process group, and whatever way the launching
 * process ends — normal exit, an uncaught exception, SIGINT, SIGTERM, SIGHUP
 * — every group still running is killed: a failed run leaves no process.
 */

const here = resolve(import.meta.dirname, '..', '..')
/** The repository: run from source (tsx) or from dist/lib/launch. */
export const ROOT = basename(here) === 'dist' ? resolve(here, '..') : here

export type ServiceName = 'usuarios' | 'pagos' | 'gateway'

export const PORT_VARIABLE: Record<ServiceName, string> = { usuarios: 'USUARIOS_PORT', pagos: 'PAGOS_PORT', gateway: 'GATEWAY_PORT' }

export interface RunningService {
  name: ServiceName
  url: string
  port: number
  process: ChildProcess
  /** Every JSON log line the service printed (until ready only, with keepLines false). */
  lines: Array<Record<string, unknown>>
  /** Its exit code (null when a signal ended it). */
  exited: Promise<number | null>
}

export interface StartOptions {
  /** Added to this process's env; LOG_STDOUT is json and the port variable 0 unless given. */
  env?: NodeJS.ProcessEnv
  /** Node flags before the script (`--cpu-prof` is not allowed in NODE_OPTIONS). */
  execArgv?: string[]
  /** ms to wait for ready; default 30 000. */
  timeoutMs?: number
  /** false: stop reading log lines once ready (benchmarks); default true. */
  keepLines?: boolean
  /** An IPC channel on fd 3 (bench/probe.cjs answers GC requests on it). */
  ipc?: boolean
  /** A command prefix it runs under, e.g. a host's ['ip', 'netns', 'exec', ns] (lib/launch/netns.ts). */
  wrap?: string[]
  /** The address it binds (HOST, or GATEWAY_HOST for the gateway) and its url names; default 127.0.0.1. */
  host?: string
}

/** What to SIGKILL when this process ends: a negative number is a process group. */
const doomed = new Set<number>()
/** What to undo after that (network namespaces of lib/launch/netns.ts), in order. */
const cleanups = new Set<() => void>()
let handlersInstalled = false
/** Set once a signal is ending this process: no service may start after its kill. */
let exiting = false

/** SIGKILL to the process group of every service still running and to every pid given to killOnExit, then every cleanupOnExit function. */
function killAll (): void {
  for (const pid of doomed) {
    try { process.kill(pid, 'SIGKILL') } catch {}
  }
  doomed.clear()
  for (const cleanup of cleanups) {
    try { cleanup() } catch {}
  }
  cleanups.clear()
}

/**
 * A synchronous function to run whatever way this process ends (after the
 * processes are killed): exit handlers cannot wait, so spawnSync it is. The
 * returned function forgets it again (after a clean teardown).
 */
export function cleanupOnExit (cleanup: () => void): () => void {
  installExitHandlers()
  cleanups.add(cleanup)
  return () => { cleanups.delete(cleanup) }
}

/**
 * Another process this one started some other way (a private RabbitMQ
 * node that daemonizes itself) to SIGKILL whatever way this process ends;
 * the returned function forgets it again (after a clean stop).
 */
export function killOnExit (pid: number): () => void {
  installExitHandlers()
  doomed.add(pid)
  return () => { doomed.delete(pid) }
}

function installExitHandlers (): void {
  if (handlersInstalled) return
  handlersInstalled = true
  process.once('exit', killAll)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      exiting = true
      killAll()
      // Ends as the signal would have (exit code 128 + n), now that no handler is left.
      process.kill(process.pid, signal)
      // Should anything still hold the signal, end anyway.
      setImmediate(() => process.exit(128 + osConstants.signals[signal]))
    })
  }
}

/**
 * Starts one built service and resolves once it logged `ready` (with its
 * port), or — when a fixed port is given in env and LOG_LEVEL hides that
 * line — once the port accepts connections. Rejects if the service exits
 * first or is not ready within timeoutMs (then it is killed).
 */
export async function startService (name: ServiceName, opts: StartOptions = {}): Promise<RunningService> {
  installExitHandlers()
  if (exiting) throw new Error(`${name} not started: this process is ending on a signal`)
  const portVar = PORT_VARIABLE[name]
  const env = opts.env ?? {}
  const fixedPort = Number(env[portVar] ?? 0)
  const timeoutMs = opts.timeoutMs ?? 30_000
  const host = opts.host ?? '127.0.0.1'
  const argv = [...(opts.wrap ?? []), process.execPath, ...(opts.execArgv ?? []), join(ROOT, 'dist', name, 'server.js')]
  // `ip netns exec` replaces itself with the command: child.pid is still the service's own pid.
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: ROOT,
    env: { ...process.env, ...env, [portVar]: String(fixedPort), LOG_STDOUT: 'json', ...(opts.host === undefined ? {} : { HOST: host }), GATEWAY_HOST: host },
    stdio: ['ignore', 'pipe', 'pipe', ...(opts.ipc === true ? ['ipc' as const] : [])],
    detached: true
  })
  doomed.add(-child.pid!)
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => { doomed.delete(-child.pid!); resolve(code) }))
  const lines: Array<Record<string, unknown>> = []
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString() })
  const rl = createInterface({ input: child.stdout! })
  const stopReading = (): void => {
    if (opts.keepLines !== false) return
    rl.close()
    child.stdout!.resume()
  }
  const port = await new Promise<number>((resolve, reject) => {
    let settled = false
    const settle = (err: Error | undefined, port = 0): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      clearInterval(poll)
      if (err === undefined) {
        stopReading()
        resolve(port)
      } else {
        child.kill('SIGKILL')
        reject(err)
      }
    }
    const timer = setTimeout(() => settle(new Error(`${name} not ready after ${timeoutMs} ms: ${stderr}`)), timeoutMs)
    const poll = setInterval(() => {
      if (fixedPort !== 0) void canConnect(fixedPort, host).then((up) => { if (up) settle(undefined, fixedPort) })
    }, 50)
    rl.on('line', (line) => {
      let entry: Record<string, unknown>
      try { entry = JSON.parse(line) } catch { return }
      if (!settled || opts.keepLines !== false) lines.push(entry)
      if (entry.msg === 'ready' && typeof entry.port === 'number') settle(undefined, entry.port)
    })
    void exited.then((code) => settle(new Error(`${name} exited with ${String(code)} before ready: ${stderr}`)))
  })
  return { name, url: `http://${host}:${port}`, port, process: child, lines, exited }
}

/** SIGTERM (a graceful stop: profiles are written on exit), then SIGKILL to its group after timeoutMs. */
export async function stopService (s: RunningService, timeoutMs = 15_000): Promise<number | null> {
  if (s.process.exitCode !== null || s.process.signalCode !== null) return s.process.exitCode
  s.process.kill('SIGTERM')
  const timer = setTimeout(() => { try { process.kill(-s.process.pid!, 'SIGKILL') } catch {} }, timeoutMs)
  const code = await s.exited
  clearTimeout(timer)
  return code
}

import { execFile } from 'node:child_process'
import { appendFileSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import { freePort } from './net.js'
import { cleanupOnExit, killOnExit } from './service.js'
import { systemUserIds } from './system-user.js'

const run = promisify(execFile)

/*
 * A PostgreSQL server of the run's own: initdb into a temporary folder and
 * pg_ctl on a free port, so that the chaos run and the benchmarks can
 * restart it, crash it (`pg_ctl stop -m immediate`) or cut its connections
 * without touching the machine's PostgreSQL (or another test's). It runs as
 * the `postgres` system user (initdb refuses root). Whatever way the
 * launching process ends, the postmaster is SIGKILLed (killOnExit), and its
 * backends follow it.
 */

export interface PrivatePostgresOptions {
  /** The address it listens on; default 127.0.0.1. */
  host?: string
  /** Default: a free port. */
  port?: number
  /** A command prefix every server command runs under, e.g. ['ip', 'netns', 'exec', 'pg'] (lib/launch/netns.ts). */
  wrap?: string[]
  /** Extra `-c name=value` server settings (e.g. { max_connections: '200' }). */
  settings?: Record<string, string>
  /** Another network the server trusts connections from (a CIDR such as 10.213.7.0/24); initdb's pg_hba.conf trusts loopback only. */
  trustNetwork?: string
  /** Told the server's folder as soon as it exists (to remove it if the run dies before shutdown()). */
  onFolder?: (dir: string) => void
}

export interface PrivatePostgres {
  host: string
  port: number
  /** postgres://postgres@host:port/postgres (trust auth). */
  adminUrl: string
  /** The data folder's parent (data/, server.log, the socket). */
  dir: string
  /** Creates a database and returns its URL. */
  createDatabase: (name: string) => Promise<string>
  /** `pg_terminate_backend` of every connection to the given databases (all but the caller's own); resolves with how many. */
  terminateConnections: (databases: string[]) => Promise<number>
  /** `pg_ctl stop -m fast` and start (a restart): connections close, the server comes back (waits until it accepts connections). */
  restart: () => Promise<void>
  /** `pg_ctl stop -m immediate` (no checkpoint: the next start runs crash recovery), then start again. */
  crashAndRecover: () => Promise<void>
  /** Stops it (fast) and removes its folder. */
  shutdown: () => Promise<void>
}

/** The newest PostgreSQL server binaries of the Debian packages (/usr/lib/postgresql/<version>/bin). */
export function postgresBin (): string {
  const root = '/usr/lib/postgresql'
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'pg_ctl'))) : []
  if (versions.length === 0) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql (Debian package postgresql)')
  return join(root, versions.sort((a, b) => Number(b) - Number(a))[0]!, 'bin')
}

/** Starts a private PostgreSQL server; see PrivatePostgres. Rejects if initdb or the start fail (after 60 s). */
export async function startPrivatePostgres (opts: PrivatePostgresOptions = {}): Promise<PrivatePostgres> {
  const host = opts.host ?? '127.0.0.1'
  const wrap = opts.wrap ?? []
  const port = opts.port ?? (wrap.length > 0 ? 5432 : await freePort(host))
  const bin = postgresBin()
  const dir = mkdtempSync(join(tmpdir(), 'pagos-pg-'))
  opts.onFolder?.(dir)
  // Removed whatever way this process ends (after the postmaster is killed), unless shutdown() did it.
  const forgetFolder = cleanupOnExit(() => { rmSync(dir, { recursive: true, force: true }) })
  const [uid, gid] = await systemUserIds('postgres', 'postgresql')
  chownSync(dir, uid, gid)
  const data = join(dir, 'data')
  const asPostgres = async (command: string, args: string[]): Promise<string> => {
    const argv = [...wrap, 'runuser', '-u', 'postgres', '--', join(bin, command), ...args]
    const { stdout } = await run(argv[0]!, argv.slice(1), { timeout: 120_000 })
    return stdout
  }
  await asPostgres('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions'])
  if (opts.trustNetwork !== undefined) appendFileSync(join(data, 'pg_hba.conf'), `host all all ${opts.trustNetwork} trust\n`)
  const settings = { listen_addresses: host, port: String(port), unix_socket_directories: dir, max_connections: '200', ...opts.settings }
  const serverOptions = Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`).join(' ')

  let postmaster = 0
  let forget = (): void => {}
  const watchPostmaster = (): void => {
    forget()
    postmaster = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0])
    forget = Number.isInteger(postmaster) && postmaster > 0 ? killOnExit(postmaster) : () => {}
  }
  const pgCtl = async (...args: string[]): Promise<void> => { await asPostgres('pg_ctl', ['-D', data, '-w', '-t', '60', ...args]) }
  const start = async (): Promise<void> => {
    await pgCtl('-l', join(dir, 'server.log'), '-o', serverOptions, 'start')
    watchPostmaster()
  }
  await start()

  const adminUrl = `postgres://postgres@${host}:${port}/postgres`
  const admin = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 10_000 })
    c.on('error', () => {})
    await c.connect()
    try { return await fn(c) } finally { await c.end().catch(() => {}) }
  }
  return {
    host,
    port,
    adminUrl,
    dir,
    async createDatabase (name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`database name ${name}: lower-case letters, digits and _ only`)
      await admin(async (c) => await c.query(`create database ${name}`))
      return `postgres://postgres@${host}:${port}/${name}`
    },
    async terminateConnections (databases) {
      return await admin(async (c) => {
        const r = await c.query('select count(pg_terminate_backend(pid))::int as n from pg_stat_activity where datname = any($1) and pid <> pg_backend_pid()', [databases])
        return r.rows[0].n as number
      })
    },
    async restart () {
      // What `pg_ctl restart -m fast` does, in two steps: restart has no -l,
      // so the new server would log into this process's pipe.
      await pgCtl('-m', 'fast', 'stop')
      await start()
    },
    async crashAndRecover () {
      await pgCtl('-m', 'immediate', 'stop')
      await start()
    },
    async shutdown () {
      try {
        await pgCtl('-m', 'fast', 'stop')
      } catch {
        // Already gone, or it would not stop.
        try { process.kill(postmaster, 'SIGKILL') } catch {}
      } finally {
        forget()
        forgetFolder()
        rmSync(dir, { recursive: true, force: true })
      }
    }
  }
}

/*
 * Online, verified snapshots of the services' databases (called by
 * deploy/backup.sh and deploy/restore.sh, which find the files).
 *
 *   node dist/lib/cli/backup.js take --dir DIR [--keep N] [--usuarios FILE|URL] [--pagos FILE|URL]
 *   node dist/lib/cli/backup.js verify SNAPSHOT
 *
 * `take` writes DIR/<UTC timestamp, e.g. 20261129T031500Z>/ holding
 * usuarios.sqlite and pagos.sqlite and manifest.json, while the services
 * run: each SQLite file is copied with `VACUUM INTO` (one read transaction,
 * so the copy is consistent; in WAL mode writers are not blocked), then
 * checked with `PRAGMA integrity_check` and fsynced. A PostgreSQL URL is
 * dumped with pg_dump (custom format, <service>.dump) and checked with
 * pg_restore --list. The snapshot is built under a hidden name and renamed
 * only once complete, so a folder with a timestamp name is always whole.
 * Then all but the newest N (default 14) snapshots are deleted. Prints the
 * snapshot's path on the last line. Exit 1 on any failure (nothing renamed).
 *
 * `verify` checks a snapshot again (manifest, integrity_check of each
 * SQLite file, size and SHA-256 as recorded): exit 0 when whole, 1 if not.
 *
 * The two databases are copied one after the other, so their moments differ
 * by a few milliseconds: usuarios' sweep (PAGO_REENVIO_SEGUNDOS) settles the
 * payments that fall in between after a restore (README, Backups and restore).
 */
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import Database from 'better-sqlite3'

const SERVICES = ['usuarios', 'pagos'] as const
type Service = typeof SERVICES[number]
const SNAPSHOT_NAME = /^\d{8}T\d{6}Z(-\d+)?$/
const FORMAT = 1

interface FileEntry {
  archivo: string
  tipo: 'sqlite' | 'pg_dump'
  bytes: number
  sha256: string
  /** When its copy started (ISO 8601, UTC). */
  copiadoEn: string
  /** SQLite only: the last migration applied, and rows in its main tables. */
  migracion?: string | null
  filas?: Record<string, number>
}
interface Manifest { formato: number, creadoEn: string, servicios: Record<string, FileEntry> }

function fail (message: string): never {
  console.error(`backup: ${message}`)
  process.exit(1)
}

function fsyncPath (path: string): void {
  const fd = openSync(path, 'r')
  try { fsyncSync(fd) } finally { closeSync(fd) }
}

function sha256 (file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex')
}

/** `20261129T031500Z`: sorts as it happened, no characters a shell or S3 dislikes. */
function snapshotName (d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z')
}

/** Throws unless `PRAGMA integrity_check` answers ok; returns what a manifest records of the file. */
function checkSqlite (file: string): Pick<FileEntry, 'migracion' | 'filas'> {
  const db = new Database(file, { readonly: true, fileMustExist: true })
  try {
    const result = db.pragma('integrity_check') as Array<{ integrity_check: string }>
    const problems = result.map((r) => r.integrity_check).filter((r) => r !== 'ok')
    if (problems.length > 0 || result.length === 0) throw new Error(`${file}: integrity_check: ${problems.slice(0, 5).join('; ')}`)
    const tables = new Set((db.prepare("select name from sqlite_master where type = 'table'").all() as Array<{ name: string }>).map((r) => r.name))
    const filas: Record<string, number> = {}
    for (const t of ['usuarios', 'pagos', 'outbox']) {
      if (tables.has(t)) filas[t] = (db.prepare(`select count(*) as n from "${t}"`).get() as { n: number }).n
    }
    const migracion = tables.has('kysely_migration')
      ? (db.prepare('select name from kysely_migration order by name desc limit 1').get() as { name: string } | undefined)?.name ?? null
      : null
    return { migracion, filas }
  } finally {
    db.close()
  }
}

/** The file copied with VACUUM INTO from a live database, then checked and fsynced. */
function copySqlite (source: string, target: string): FileEntry {
  if (!existsSync(source)) throw new Error(`${source} does not exist (has the service run once? DATA_DIR or *_DB_FILE set as for the service?)`)
  const copiadoEn = new Date().toISOString()
  const db = new Database(source, { fileMustExist: true })
  try {
    db.pragma('busy_timeout = 10000')
    db.prepare('VACUUM INTO ?').run(target)
  } finally {
    db.close()
  }
  fsyncPath(target)
  const checked = checkSqlite(target)
  return { archivo: target.split('/').at(-1)!, tipo: 'sqlite', bytes: statSync(target).size, sha256: sha256(target), copiadoEn, ...checked }
}

/** pg_dump in custom format, the password through the environment (never on a command line). */
function dumpPostgres (url: string, target: string): FileEntry {
  const u = new URL(url)
  const password = decodeURIComponent(u.password)
  u.password = ''
  const env = { ...process.env, ...(password === '' ? {} : { PGPASSWORD: password }) }
  const copiadoEn = new Date().toISOString()
  try {
    execFileSync('pg_dump', ['--format=custom', '--no-owner', `--file=${target}`, `--dbname=${u.toString()}`], { env, stdio: ['ignore', 'inherit', 'inherit'] })
    execFileSync('pg_restore', ['--list', target], { stdio: ['ignore', 'ignore', 'inherit'] })
  } catch (err) {
    throw new Error(`pg_dump of ${u.host}${u.pathname} failed (is the PostgreSQL client installed, of the server's version or newer?): ${String(err)}`)
  }
  fsyncPath(target)
  return { archivo: target.split('/').at(-1)!, tipo: 'pg_dump', bytes: statSync(target).size, sha256: sha256(target), copiadoEn }
}

/** Snapshots in DIR, oldest first. */
function listSnapshots (dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir).filter((n) => SNAPSHOT_NAME.test(n) && existsSync(join(dir, n, 'manifest.json'))).sort()
}

function take (dir: string, keep: number, sources: Partial<Record<Service, string>>): string {
  mkdirSync(dir, { recursive: true, mode: 0o750 })
  const started = new Date()
  let name = snapshotName(started)
  for (let i = 2; existsSync(join(dir, name)); i++) name = `${snapshotName(started)}-${i}`
  const partial = join(dir, `.${name}.partial`)
  rmSync(partial, { recursive: true, force: true })
  mkdirSync(partial, { mode: 0o750 })
  try {
    const manifest: Manifest = { formato: FORMAT, creadoEn: started.toISOString(), servicios: {} }
    for (const svc of SERVICES) {
      const source = sources[svc]
      if (source === undefined) continue
      manifest.servicios[svc] = /^postgres(ql)?:\/\//.test(source)
        ? dumpPostgres(source, join(partial, `${svc}.dump`))
        : copySqlite(resolve(source), join(partial, `${svc}.sqlite`))
    }
    if (Object.keys(manifest.servicios).length === 0) throw new Error('nothing to back up: give --usuarios and/or --pagos')
    writeFileSync(join(partial, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n', { mode: 0o640 })
    fsyncPath(join(partial, 'manifest.json'))
    fsyncPath(partial)
    renameSync(partial, join(dir, name))
    fsyncPath(dir)
  } catch (err) {
    rmSync(partial, { recursive: true, force: true })
    throw err
  }
  // Left by a backup that was killed: never a snapshot, never needed.
  for (const n of readdirSync(dir)) if (/^\..*\.partial$/.test(n)) rmSync(join(dir, n), { recursive: true, force: true })
  const all = listSnapshots(dir)
  for (const old of all.slice(0, Math.max(0, all.length - keep))) {
    rmSync(join(dir, old), { recursive: true, force: true })
    console.log(`deleted ${join(dir, old)} (keeping the newest ${keep})`)
  }
  return join(dir, name)
}

function verify (snapshot: string): string[] {
  const problems: string[] = []
  let manifest: Manifest
  try {
    manifest = JSON.parse(readFileSync(join(snapshot, 'manifest.json'), 'utf8')) as Manifest
  } catch (err) {
    return [`${snapshot}: no readable manifest.json (${String(err)})`]
  }
  if (manifest.formato !== FORMAT) problems.push(`manifest formato ${String(manifest.formato)}, expected ${FORMAT}`)
  for (const [svc, entry] of Object.entries(manifest.servicios ?? {})) {
    const file = join(snapshot, entry.archivo)
    try {
      if (statSync(file).size !== entry.bytes) throw new Error(`${entry.archivo}: ${statSync(file).size} bytes, the manifest says ${entry.bytes}`)
      if (sha256(file) !== entry.sha256) throw new Error(`${entry.archivo}: SHA-256 differs from the manifest`)
      if (entry.tipo === 'sqlite') checkSqlite(file)
      console.log(`${svc}: ${entry.archivo} ok (${entry.bytes} bytes${entry.filas === undefined ? '' : `, ${Object.entries(entry.filas).map(([k, v]) => `${k} ${v}`).join(', ')}`})`)
    } catch (err) {
      problems.push(`${svc}: ${err instanceof Error ? err.message : String(err)}`)
    }
  }
  if (Object.keys(manifest.servicios ?? {}).length === 0) problems.push('the manifest lists no database')
  return problems
}

function option (args: string[], name: string): string | undefined {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : undefined
}

const [command, ...args] = process.argv.slice(2)
if (command === 'take') {
  const dir = option(args, '--dir') ?? fail('take needs --dir DIR')
  const keep = Number(option(args, '--keep') ?? '14')
  if (!Number.isInteger(keep) || keep < 1) fail(`--keep must be a whole number of snapshots, 1 or more (got ${String(option(args, '--keep'))})`)
  try {
    const path = take(resolve(dir), keep, { usuarios: option(args, '--usuarios'), pagos: option(args, '--pagos') })
    console.log(`snapshot ${path} verified (integrity_check ok)`)
    console.log(path)
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err))
  }
} else if (command === 'verify' && args[0] !== undefined) {
  const problems = verify(resolve(args[0]))
  if (problems.length > 0) fail(`${args[0]} is not a whole snapshot:\n  ${problems.join('\n  ')}`)
  console.log(`${resolve(args[0])}: verified`)
} else {
  console.error('usage: backup.js take --dir DIR [--keep N] [--usuarios FILE|URL] [--pagos FILE|URL]\n       backup.js verify SNAPSHOT')
  process.exit(2)
}

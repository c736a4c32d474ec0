import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ROOT } from '../../lib/launch/service.js'
import { waitFor } from '../helpers/poll.js'

/*
 * Whatever way a test, benchmark or chaos run ends, the services it started
 * through lib/launch/service.ts end too: a run that fails on purpose leaves
 * no process behind.
 */

function alive (pid: number): boolean {
  try { process.kill(pid, 0); return true } catch { return false }
}

for (const how of ['throw', 'exit', 'SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  t.test(`a launcher that ends by ${how} leaves no service running`, async (t) => {
    const dir = t.testdir()
    const mode = how.startsWith('SIG') ? 'wait' : how
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test', 'fixtures', 'launch-and-end.ts'), mode, dir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    const pid = await new Promise<number>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        try { resolve(JSON.parse(line).pid) } catch {}
      })
      void exited.then((code) => reject(new Error(`launcher exited with ${String(code)} before usuarios was ready`)))
    })
    t.ok(alive(pid), 'usuarios runs')
    if (how.startsWith('SIG')) child.kill(how)
    const code = await exited
    t.not(code, 0, 'the launcher failed')
    await waitFor('usuarios to end', () => !alive(pid), { timeoutMs: 10_000 })
    t.notOk(alive(pid), 'usuarios is gone')
  })
}

/** Pids whose command line or environment mentions `needle` (Linux /proc). */
function processesWith (needle: string): number[] {
  const found: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue
    for (const file of ['cmdline', 'environ']) {
      try {
        if (readFileSync(`/proc/${entry}/${file}`, 'latin1').includes(needle)) { found.push(Number(entry)); break }
      } catch {}
    }
  }
  return found
}

t.test('npm run chaos stopped with Ctrl-C mid-run leaves neither services nor its RabbitMQ node', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test', 'chaos', 'cli.ts'), '--duration', '120', '--seed', '7'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const node = `pagostest${child.pid!}x`
  const prefix = `test.chaos.${child.pid!}.`
  // Its first log line comes once the broker, the services and the users are up.
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => { if (line.startsWith('[')) resolve() })
    void exited.then((code) => reject(new Error(`chaos exited with ${String(code)} before running`)))
  })
  const before = processesWith(prefix)
  t.ok(processesWith(node).length > 0, 'its RabbitMQ node runs')
  // The first line may be a kill -9: one service can be between its death and its restart.
  t.ok(before.length >= 2, `its services run (${before.length} processes)`)
  child.kill('SIGINT')
  t.not(await exited, 0, 'the run failed')
  const left = (): string[] => [...processesWith(prefix), ...processesWith(node)]
    .map((pid) => { try { return `${pid}: ${readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' ').slice(0, 200)}` } catch { return `${pid}: (gone)` } })
  await waitFor('no process of the run left', () => left().length === 0, { timeoutMs: 30_000 }).catch(() => {})
  t.same(left(), [], 'nothing of the run is left')
})

t.test('npm run chaos --store postgres --instances 2 stopped with Ctrl-C leaves no service, no PostgreSQL server, no RabbitMQ node', async (t) => {
  // Every process of the run inherits this (the PostgreSQL server through runuser and pg_ctl too).
  const mark = `CHAOS_LEFTOVER_MARK=${process.pid}x${Date.now()}`
  const [markName, markValue] = mark.split('=') as [string, string]
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test', 'chaos', 'cli.ts'), '--store', 'postgres', '--instances', '2', '--duration', '120', '--seed', '7'],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, [markName]: markValue } })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const node = `pagostest${child.pid!}x`
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => { if (line.startsWith('[')) resolve() })
    void exited.then((code) => reject(new Error(`chaos exited with ${String(code)} before running`)))
  })
  const commands = (pids: number[]): string[] => pids
    .map((pid) => { try { return `${pid}: ${readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' ').slice(0, 200)}` } catch { return `${pid}: (gone)` } })
  const running = commands(processesWith(mark))
  t.ok(running.filter((c) => c.includes('server.js')).length >= 4, `its services run (${running.length} processes with its mark)`)
  t.ok(running.some((c) => /postgres/.test(c) && c.includes('pagos-pg-')), 'its PostgreSQL server runs')
  t.ok(processesWith(node).length > 0, 'its RabbitMQ node runs')
  child.kill('SIGINT')
  t.not(await exited, 0, 'the run failed')
  const left = (): string[] => commands([...new Set([...processesWith(mark), ...processesWith(node)])])
  await waitFor('no process of the run left', () => left().length === 0, { timeoutMs: 30_000 }).catch(() => {})
  t.same(left(), [], 'nothing of the run is left')
})

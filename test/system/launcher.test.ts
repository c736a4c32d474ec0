import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
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

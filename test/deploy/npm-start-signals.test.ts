import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ROOT } from '../../lib/launch/service.js'
import { waitFor } from '../helpers/poll.js'

/*
 * `npm start` stopped by a signal to npm's own pid, as a supervisor (or
 * `npm start & … kill -INT $!`) sends it, not to the terminal's process group.
 * npm 11 passes SIGINT and SIGTERM on to the one process it started
 * (@npmcli/run-script's signal-manager), which is `sh -c '<the script line>'`:
 * with `bash deploy/start.sh` that was dash, and the script never heard of it —
 * SIGINT left it running (dash waited for it), SIGTERM killed dash and npm
 * exited at once, leaving the script and its three services behind.
 * package.json's own start line is run here by the system's npm, in a copy of
 * the package whose deploy/start.sh is a stand-in that traps as the real one
 * does and logs what it gets: nothing of the real system starts.
 */

const START = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start

const STAND_IN = `#!/usr/bin/env bash
# The real deploy/start.sh traps INT, TERM and HUP and stops its services; this one logs.
cd "$(dirname "\${BASH_SOURCE[0]}")/.."
stop=
trap 'echo "got SIGINT" >> signals.log; stop=130' INT
trap 'echo "got SIGTERM" >> signals.log; stop=143' TERM
echo "ready $$" >> signals.log
for ((i = 0; i < 300; i++)); do
  [[ -z $stop ]] || break
  sleep 0.05
done
echo "stopped" >> signals.log
exit "\${stop:-0}"
`

/** npm's environment, without what the tap run itself got from npx (npm_* settings) or its loaders. */
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('npm_') && !k.startsWith('TAP') && k !== 'NODE_OPTIONS'))

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  t.test(`${signal} to npm's own pid reaches the script npm start runs, and npm exits after it`, async (t) => {
    const dir = t.testdir({
      'package.json': JSON.stringify({ name: 'npm-start-signals', version: '1.0.0', private: true, scripts: { start: START } }),
      deploy: { 'start.sh': STAND_IN }
    })
    const log = (): string => { try { return readFileSync(join(dir, 'signals.log'), 'utf8') } catch { return '' } }
    // Its own process group, as under a supervisor: only npm's pid gets the signal.
    const npm = spawn('npm', ['start', '--silent'], { cwd: dir, env, stdio: 'ignore', detached: true })
    const exited = new Promise<{ code: number | null, signal: string | null }>((resolve) => npm.once('exit', (code, signal) => resolve({ code, signal })))
    t.teardown(() => { try { process.kill(-npm.pid!, 'SIGKILL') } catch {} })

    const ready = await waitFor('the script to start', () => /^ready (\d+)$/m.exec(log()) ?? undefined, { timeoutMs: 30_000, intervalMs: 20 })
    const scriptPid = Number(ready[1])
    process.kill(npm.pid!, signal)
    const end = await Promise.race([exited, new Promise<undefined>((resolve) => setTimeout(resolve, 10_000))])

    t.match(log(), new RegExp(`^got ${signal}$`, 'm'), `the script got ${signal}`)
    t.match(log(), /^stopped$/m, 'and stopped on it')
    t.ok(end !== undefined, 'npm exited')
    t.ok(end?.signal === signal || end?.code === (signal === 'SIGINT' ? 130 : 143), `as the signal says (${JSON.stringify(end)})`)
    let alive = true
    try { process.kill(scriptPid, 0) } catch { alive = false }
    t.notOk(alive, 'the script is not left running behind npm')
  })
}

import { execFile } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { HARDENING, UNIT_DIR, value, values } from '../helpers/units.js'

/* pagos-backup.service and pagos-backup.timer, as files and as systemd reads them. */

const run = promisify(execFile)
const ROOT = resolve(import.meta.dirname, '..', '..')
const SERVICE = 'pagos-backup.service'
const TIMER = 'pagos-backup.timer'

t.test('the backup runs deploy/backup.sh once, as the service user, hardened like the services', async (t) => {
  t.equal(value(SERVICE, 'Type'), 'oneshot')
  t.equal(value(SERVICE, 'ExecStart'), '/opt/pagos/deploy/backup.sh')
  t.equal(value(SERVICE, 'Environment'), 'NODE=/usr/bin/node', 'install.sh writes the node it found')
  t.equal(value(SERVICE, 'WorkingDirectory'), '/opt/pagos')
  for (const [key, expected] of Object.entries({ ...HARDENING, SystemCallErrorNumber: 'EPERM' })) {
    t.equal(value(SERVICE, key), expected, `${key}=${expected}`)
  }
  t.same(values(SERVICE, 'SystemCallFilter'), ['@system-service', '~@privileged @resources'])
  t.same(values(SERVICE, 'ReadWritePaths').join(' ').split(/\s+/), ['/var/lib/pagos/usuarios', '/var/lib/pagos/pagos', '/var/lib/pagos/backups'],
    'writes only the databases (SQLite\'s WAL index) and the snapshots')
  t.same(values(SERVICE, 'WantedBy'), [], 'not started at boot by itself: the timer starts it')
})

t.test('the timer fires daily and catches up a missed day', async (t) => {
  t.match(value(TIMER, 'OnCalendar'), /^(daily|\*-\*-\* \d\d:\d\d:\d\d)$/)
  t.equal(value(TIMER, 'Persistent'), 'true')
  t.equal(value(TIMER, 'Unit'), SERVICE)
  t.equal(value(TIMER, 'WantedBy'), 'timers.target')
})

t.test('systemd-analyze verify and security pass on the backup units', async (t) => {
  if (!await run('sh', ['-c', 'command -v systemd-analyze']).then(() => true, () => false)) {
    t.skip('systemd-analyze is not installed (.ci/run installs the systemd package)')
    return
  }
  // As installed: ExecStart names a script that exists here.
  const dir = t.testdir()
  writeFileSync(join(dir, SERVICE), readFileSync(join(UNIT_DIR, SERVICE), 'utf8').replace(/^ExecStart=\/opt\/pagos\/deploy\/backup\.sh$/m, `ExecStart=${join(ROOT, 'deploy', 'backup.sh')}`))
  writeFileSync(join(dir, TIMER), readFileSync(join(UNIT_DIR, TIMER), 'utf8'))
  const result = await run('systemd-analyze', ['verify', join(dir, SERVICE), join(dir, TIMER)]).then(
    ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
    (err: { code: number, stdout: string, stderr: string }) => ({ code: err.code, output: err.stdout + err.stderr }))
  t.equal(result.code, 0, 'exit code 0', { output: result.output })
  t.notMatch(result.output, /pagos/, 'no warning about our units')
  const { stdout, stderr } = await run('systemd-analyze', ['security', '--offline=true', join(dir, SERVICE)]).catch((err) => err)
  const exposure = Number(/Overall exposure level for \S+: ([\d.]+)/.exec(`${String(stdout)}${String(stderr)}`)?.[1])
  t.ok(exposure <= 2.0, `pagos-backup: systemd-analyze security exposure ${exposure} ≤ 2.0`)
})

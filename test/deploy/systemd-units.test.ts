import { execFile } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { HARDENING, UNIT_DIR, value, values } from '../helpers/units.js'
import { CommonEnv } from '../../lib/process/env-schema.js'

const run = promisify(execFile)
const SERVICES = ['usuarios', 'pagos', 'gateway'] as const
const UNITS = [...SERVICES.map((s) => `pagos-${s}.service`), 'pagos.target']

async function which (command: string): Promise<boolean> {
  return await run('sh', ['-c', `command -v ${command}`]).then(() => true, () => false)
}

t.test('every service unit carries the hardening directives', async (t) => {
  for (const svc of SERVICES) {
    const unit = `pagos-${svc}.service`
    t.test(unit, async (t) => {
      for (const [key, expected] of Object.entries({
        ...HARDENING,
        RestrictAddressFamilies: 'AF_INET AF_INET6 AF_UNIX AF_NETLINK' // netlink: os.networkInterfaces() on 0.0.0.0
      })) {
        t.equal(value(unit, key), expected, `${key}=${expected}`)
      }
      t.same(values(unit, 'SystemCallFilter'), ['@system-service', '~@privileged @resources'])
      t.equal(value(unit, 'SystemCallErrorNumber'), 'EPERM', 'a refused call fails instead of killing node')
      t.notOk(value(unit, 'MemoryDenyWriteExecute'), 'no MemoryDenyWriteExecute: V8 needs W+X pages')
      const writable = svc === 'gateway' ? ['/var/log/pagos'] : [`/var/lib/pagos/${svc}`, '/var/log/pagos']
      t.same(values(unit, 'ReadWritePaths').join(' ').split(/\s+/), writable, 'writes only its data and the logs')
    })
  }
})

t.test('each service runs its build, with its settings, restarts, and stops gracefully', async (t) => {
  const shutdownMs = CommonEnv.SHUTDOWN_TIMEOUT_MS.default as number
  for (const svc of SERVICES) {
    const unit = `pagos-${svc}.service`
    t.equal(value(unit, 'ExecStart'), `/usr/bin/node --max-semi-space-size=${svc === 'gateway' ? 16 : 8} /opt/pagos/dist/${svc}/server.js`)
    t.same(values(unit, 'EnvironmentFile'), ['/etc/pagos/common.env', `/etc/pagos/${svc}.env`])
    t.equal(value(unit, 'WorkingDirectory'), '/opt/pagos')
    t.equal(value(unit, 'Restart'), 'always')
    t.ok(Number(value(unit, 'RestartSec')) >= 1, 'with a pause between restarts')
    t.equal(value(unit, 'StartLimitIntervalSec'), '0', 'and never gives up')
    t.equal(value(unit, 'KillSignal'), 'SIGTERM')
    t.equal(value(unit, 'KillMode'), 'mixed')
    const stopSec = Number(value(unit, 'TimeoutStopSec'))
    t.ok(stopSec * 1000 > shutdownMs + 5_000, `TimeoutStopSec=${stopSec}s leaves SHUTDOWN_TIMEOUT_MS (${shutdownMs} ms) room`)
    t.equal(value(unit, 'StandardOutput'), 'journal')
    t.equal(value(unit, 'SyslogIdentifier'), `pagos-${svc}`)
    t.equal(value(unit, 'PartOf'), 'pagos.target')
    t.equal(value(unit, 'WantedBy'), 'pagos.target')
    const after = values(unit, 'After').join(' ').split(/\s+/)
    const wants = values(unit, 'Wants').join(' ').split(/\s+/)
    t.ok(after.includes('network-online.target') && wants.includes('network-online.target'), `${unit} waits for the network`)
    if (svc === 'gateway') {
      t.ok(after.includes('pagos-usuarios.service') && after.includes('pagos-pagos.service'), 'the gateway starts after (and stops before) the services')
    } else {
      t.ok(after.includes('rabbitmq-server.service') && wants.includes('rabbitmq-server.service'), `${unit} wants RabbitMQ`)
      t.ok(after.includes('postgresql.service'), `${unit} starts after PostgreSQL when there is one`)
    }
  }
  t.equal(value('pagos.target', 'WantedBy'), 'multi-user.target', 'the target starts at boot')
})

t.test('systemd-analyze verify passes on every unit', async (t) => {
  if (!await which('systemd-analyze')) {
    t.skip('systemd-analyze is not installed (.ci/run installs the systemd package)')
    return
  }
  // As installed: ExecStart names this machine's node (verify checks it exists).
  const dir = t.testdir()
  for (const unit of UNITS) {
    const text = readFileSync(join(UNIT_DIR, unit), 'utf8').replace(/^ExecStart=\/usr\/bin\/node /m, `ExecStart=${process.execPath} `)
    writeFileSync(join(dir, unit), text)
  }
  const result = await run('systemd-analyze', ['verify', ...UNITS.map((u) => join(dir, u))]).then(
    ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
    (err: { code: number, stdout: string, stderr: string }) => ({ code: err.code, output: err.stdout + err.stderr }))
  t.equal(result.code, 0, 'exit code 0', { output: result.output })
  t.notMatch(result.output, /pagos/, 'no warning about our units')

  for (const svc of SERVICES) {
    const { stdout, stderr } = await run('systemd-analyze', ['security', '--offline=true', join(dir, `pagos-${svc}.service`)]).catch((err) => err)
    const verdict = /Overall exposure level for \S+: ([\d.]+) (\w+)/.exec(`${String(stdout)}${String(stderr)}`)
    const exposure = Number(verdict?.[1])
    t.ok(exposure <= 2.0, `pagos-${svc}: systemd-analyze security exposure ${exposure} ≤ 2.0`)
    t.match(verdict?.[2], /^(PERFECT|SAFE|OK)$/, `pagos-${svc}: rated ${verdict?.[2]} (OK or better)`)
  }
})

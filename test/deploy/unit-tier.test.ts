import { execFile, spawn } from 'node:child_process'
import { cpSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { ROOT } from '../../lib/launch/service.js'

/*
 * `npm run test:unit` needs nothing running and no build (README, Tests):
 * run it in a network namespace of its own — where nothing listens, not
 * RabbitMQ, not PostgreSQL — on a copy of the sources without dist/.
 */

const run = promisify(execFile)

t.test('the unit tier passes with no broker, no database server and no build', async (t) => {
  if (process.getuid?.() !== 0 || !await run('ip', ['netns', 'list']).then(() => true, () => false)) {
    t.comment('skipped: needs root and iproute2 to make a network namespace')
    t.pass('skipped')
    return
  }
  const dir = t.testdir()
  // .ci and deploy: a unit test reads a tap log with `.ci/run --failures`, which sources deploy/lib.sh.
  for (const entry of ['contracts', 'lib', 'usuarios', 'pagos', 'gateway', 'bench', 'test', '.ci', 'deploy', 'package.json', 'tsconfig.json']) {
    cpSync(join(ROOT, entry), join(dir, entry), { recursive: true, filter: (src) => !src.includes('/test/artifacts') })
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'))

  const ns = `pagos-unit-${process.pid}`
  await run('ip', ['netns', 'add', ns])
  t.teardown(async () => { await run('ip', ['netns', 'del', ns]) })
  await run('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up'])
  const reachable = async (port: number): Promise<boolean> =>
    await run('ip', ['netns', 'exec', ns, 'bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`]).then(() => true, () => false)
  t.notOk(await reachable(5672), 'no RabbitMQ in the namespace')
  t.notOk(await reachable(5432), 'no PostgreSQL in the namespace')

  // A clean environment for the inner tap: none of this run's TAP_* settings or loaders.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TAP') && k !== 'NODE_OPTIONS'))
  const child = spawn('ip', ['netns', 'exec', ns, 'npm', 'run', 'test:unit', '--', '--reporter=tap'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (d: Buffer) => { output += d.toString() })
  child.stderr.on('data', (d: Buffer) => { output += d.toString() })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  const summary = /^# \{ total: (\d+), pass: (\d+)(, fail: (\d+))?/m.exec(output)
  // What failed inside (its "not ok" lines), then the end of the output.
  const failed = output.split('\n').filter((l) => /^\s*not ok /.test(l)).slice(0, 40).join('\n')
  t.equal(code, 0, 'npm run test:unit passes there', code === 0 ? {} : { failed, tail: output.slice(-1500) })
  t.ok(summary !== null && Number(summary[2]) > 1000, `and runs the unit tests (${summary?.[0] ?? 'no summary'})`)
})

import { spawn } from 'node:child_process'
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { rabbitCandidates } from '../../bench/procfs.js'
import { waitFor } from '../../lib/launch/net.js'

// The bench reads RabbitMQ's CPU from the broker on 127.0.0.1: a RabbitMQ in
// another network namespace (a container of the deploy tests) once took its
// place and the bench reported RabbitMQ at 0 %.
const root = process.getuid?.() === 0

t.test('a beam.smp in another network namespace is not the bench\'s RabbitMQ; one in ours is', { skip: root ? false : 'needs root for unshare -n' }, async (t) => {
  // Not under /tmp (the chaos run's nodes live there and are left out on purpose; /var/tmp too).
  const dir = mkdtempSync('/run/pagos-rabbit-pid-')
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const beam = join(dir, 'beam.smp')
  copyFileSync('/bin/sleep', beam) // its path names rabbit, as the real one's command line does
  const start = (args: string[]) => {
    const child = spawn(args[0]!, args.slice(1), { stdio: 'ignore' })
    t.teardown(() => { child.kill('SIGKILL') })
    return child
  }
  const elsewhere = start(['unshare', '-n', beam, '60'])
  const here = start([beam, '60'])
  const comm = (pid: number): string => { try { return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() } catch { return '' } }
  // unshare execs the fake beam.smp in the same process once the namespace exists.
  await waitFor('both fake beam.smp running', () => comm(here.pid!) === 'beam.smp' && comm(elsewhere.pid!) === 'beam.smp', { timeoutMs: 5_000 })
  const candidates = rabbitCandidates()
  t.ok(candidates.includes(here.pid!), 'ours is a candidate')
  t.notOk(candidates.includes(elsewhere.pid!), 'the one in another namespace is not')
})

import t from 'tap'
import { startFaultSystem, type FaultSystem } from './helpers/faults.js'
import { waitFor } from './helpers/poll.js'
import { seededRng, verify, Workload } from './helpers/workload.js'

// SIGTERM under load: each service stops accepting, finishes in-flight requests
// and message handlers, exits 0, and after a restart nothing is missing.
let sys: FaultSystem
t.before(async () => { sys = await startFaultSystem('graceful', { PROCESADOR_LATENCIA_MS: '150', AMQP_PREFETCH: '20' }) })
t.teardown(async () => { await sys?.stop() })

t.test('SIGTERM during load loses no accepted request and no in-flight message', async (t) => {
  const w = new Workload(() => sys.urls.gateway, seededRng(23), 'graceful')
  await w.createUsers(5, 400)
  let done = false
  const load = w.run(6, () => done)

  for (const name of ['pagos', 'usuarios'] as const) {
    const before = w.figures.accepted
    await waitFor(`30 payments accepted before stopping ${name}`, () => w.figures.accepted >= before + 30, { timeoutMs: 60_000 })
    const service = sys.current(name)
    const code = await sys.terminate(name)
    t.equal(code, 0, `${name} exits 0 on SIGTERM`)
    t.ok(service.lines.some((l) => l.msg === 'stopped'), `${name} logged a clean stop`)
    await sys.start(name)
  }
  const last = w.figures.accepted
  await waitFor('more payments after the restarts', () => w.figures.accepted >= last + 20, { timeoutMs: 60_000 })
  done = true
  await load

  const v = await verify(w, sys.urls)
  t.equal(w.figures.unknown, 0)
  t.equal(v.lost, 0, 'nothing lost')
  t.equal(v.duplicated, 0, 'nothing doubled')
  t.same(v.violations, [])
  t.equal(v.completed + v.failed, w.figures.accepted)
})

t.test('a second signal exits at once', async (t) => {
  const service = sys.current('pagos')
  service.process.kill('SIGTERM')
  service.process.kill('SIGTERM')
  const code = await service.exited
  t.equal(code, 1, 'the second SIGTERM ends the graceful close with exit code 1')
  t.notOk(service.lines.some((l) => l.msg === 'stopped'), 'it did not wait for the clean stop')
  await sys.start('pagos')
})

import t from 'tap'
import { startFaultSystem, type FaultSystem } from '../helpers/faults.js'
import { waitFor } from '../helpers/poll.js'
import { seededRng, verify, Workload } from '../helpers/workload.js'

// kill -9 pagos, then usuarios, while a stream of payments runs; both come back
// on the same ports. Every accepted payment must end final exactly once.
let sys: FaultSystem
t.before(async () => { sys = await startFaultSystem('crash', { PROCESADOR_LATENCIA_MS: '20', PROCESADOR_TASA_FALLO: '0.2', PROCESADOR_SEMILLA: 'crash' }) })
t.teardown(async () => { await sys?.stop() })

t.test('kill -9 of pagos and of usuarios mid-stream loses and doubles nothing', async (t) => {
  const w = new Workload(() => sys.urls.gateway, seededRng(7), 'crash')
  await w.createUsers(8, 300)
  let done = false
  const load = w.run(8, () => done)

  await waitFor('40 payments accepted', () => w.figures.accepted >= 40, { timeoutMs: 60_000 })
  await sys.kill9('pagos')
  await sys.start('pagos')
  const afterPagos = w.figures.accepted
  await waitFor('40 more accepted', () => w.figures.accepted >= afterPagos + 40, { timeoutMs: 60_000 })
  await sys.kill9('usuarios')
  await sys.start('usuarios')
  const afterUsuarios = w.figures.accepted
  await waitFor('40 more accepted after usuarios came back', () => w.figures.accepted >= afterUsuarios + 40, { timeoutMs: 60_000 })
  done = true
  await load

  const v = await verify(w, sys.urls)
  t.equal(w.figures.unknown, 0, 'every request got a definite answer')
  t.equal(w.figures.replayMismatches, 0, 'every retried key answered as the first time')
  t.equal(v.lost, 0, 'no accepted payment lost or left pendiente')
  t.equal(v.duplicated, 0, 'no payment doubled')
  t.same(v.violations, [], 'saldo = inicial + recargas − completados for every user; pagos agrees')
  t.equal(v.completed + v.failed, w.figures.accepted, 'each accepted request is exactly one final payment')
  t.ok(v.failed > 0 && v.completed > 0, `${v.completed} completed, ${v.failed} failed (refunded)`)
})

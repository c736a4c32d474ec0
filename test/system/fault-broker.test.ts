import t from 'tap'
import { startPrivateBroker, type PrivateBroker } from '../helpers/broker.js'
import { startFaultSystem, type FaultSystem } from '../helpers/faults.js'
import { call } from '../helpers/http.js'
import { waitFor } from '../helpers/poll.js'
import { seededRng, verify, Workload } from '../helpers/workload.js'

// The broker goes away under load: first every client connection is dropped,
// then the RabbitMQ app is stopped and started again. A broker of the test's
// own is used, so the machine's shared broker and other tests are untouched.
let broker: PrivateBroker
let sys: FaultSystem
t.before(async () => {
  broker = await startPrivateBroker()
  sys = await startFaultSystem('broker', { AMQP_URL: broker.url, PROCESADOR_LATENCIA_MS: '10' })
})
t.teardown(async () => {
  await sys?.stop()
  await broker?.shutdown()
})

const conectado = async (): Promise<boolean> => (await call('GET', `${sys.urls.pagos}/pagos/status`)).body.broker.conectado

t.test('payments accepted while the broker is away complete after it returns', async (t) => {
  const w = new Workload(() => sys.urls.gateway, seededRng(11), 'broker')
  await w.createUsers(6, 500)
  let done = false
  const load = w.run(6, () => done)

  await waitFor('30 payments accepted', () => w.figures.accepted >= 30, { timeoutMs: 60_000 })
  await broker.closeAllConnections()
  const afterDrop = w.figures.accepted
  await waitFor('30 more accepted after the drop', () => w.figures.accepted >= afterDrop + 30, { timeoutMs: 60_000 })

  await broker.stopApp()
  await waitFor('pagos reports the broker away', async () => !(await conectado()), { timeoutMs: 30_000 })
  const ready = await call('GET', `${sys.urls.usuarios}/health/ready`)
  t.equal(ready.status, 503, 'usuarios is not ready without the broker')
  t.equal(ready.body.broker, 'desconectado')
  const whileAway = w.figures.accepted
  await waitFor('payments still accepted while the broker is down', () => w.figures.accepted >= whileAway + 20, { timeoutMs: 60_000 })
  const backlog = (await call('GET', `${sys.urls.usuarios}/health/ready`)).body.outboxPendientes
  t.ok(backlog > 0, `accepted payments wait in the outbox (${String(backlog)})`)

  await broker.startApp()
  await waitFor('pagos reports the broker back', conectado, { timeoutMs: 60_000 })
  const afterReturn = w.figures.accepted
  await waitFor('more accepted after the return', () => w.figures.accepted >= afterReturn + 20, { timeoutMs: 60_000 })
  done = true
  await load

  const v = await verify(w, sys.urls)
  t.equal(w.figures.unknown, 0, 'every request got a definite answer')
  t.equal(v.lost, 0, 'nothing lost')
  t.equal(v.duplicated, 0, 'nothing doubled')
  t.same(v.violations, [], 'money invariant holds for every user')
  t.equal(v.completed + v.failed, w.figures.accepted)
  t.equal((await call('GET', `${sys.urls.pagos}/pagos/status`)).body.deadLetter, 0, 'no dead letters')
})

import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import t from 'tap'
import { startFaultSystem, type FaultSystem } from '../helpers/faults.js'
import { call } from '../helpers/http.js'
import { waitFor } from '../helpers/poll.js'
import { seededRng, verify, Workload } from '../helpers/workload.js'

// SIGTERM under load: each service stops accepting, finishes in-flight requests
// and message handlers, exits 0, and after a restart nothing is missing.
const run = promisify(execFile)
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

t.test('a second signal exits at once, and the interrupted message is processed after the restart', async (t) => {
  // A provider that takes 20 s keeps one message in flight in pagos.
  await sys.terminate('pagos')
  await sys.start('pagos', { PROCESADOR_LATENCIA_MS: '20000' })
  const w = new Workload(() => sys.urls.gateway, seededRng(29), 'second-signal')
  await w.createUsers(1, 100)
  const [usuarioId] = [...w.users.keys()]
  const pago = (await call('POST', `${sys.urls.gateway}/usuarios/${usuarioId!}/pagar`, { monto: 10 })).body.pago
  await waitFor('the payment in flight in pagos', async () => await unacked(`${sys.prefix}.pagos.pago.solicitado`) === 1, { timeoutMs: 30_000, intervalMs: 200 })

  const service = sys.current('pagos')
  const started = Date.now()
  service.process.kill('SIGTERM')
  await waitFor('pagos shutting down', () => service.lines.some((l) => l.msg === 'shutting down'))
  service.process.kill('SIGTERM')
  t.equal(await service.exited, 1, 'the second SIGTERM exits at once with code 1')
  t.ok(Date.now() - started < 15_000, 'without waiting for the 20 s handler')
  t.notOk(service.lines.some((l) => l.msg === 'stopped'), 'no clean stop was claimed')

  await sys.start('pagos')
  const final = await waitFor('the interrupted payment completes after the restart', async () => {
    const r = await call('GET', `${sys.urls.gateway}/usuarios/${usuarioId!}/pagos/${String(pago.id)}`)
    return r.body.estado === 'completado' && r.body
  }, { timeoutMs: 60_000 })
  t.equal(final.estado, 'completado')
})

async function unacked (queue: string): Promise<number> {
  const { stdout } = await run('rabbitmqctl', ['-q', 'list_queues', 'name', 'messages_unacknowledged'])
  const line = stdout.split('\n').find((l) => l.startsWith(`${queue}\t`))
  return line === undefined ? 0 : Number(line.split('\t')[1])
}

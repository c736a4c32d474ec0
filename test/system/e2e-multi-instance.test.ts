import t from 'tap'
import { call } from '../helpers/http.js'
import { postgresSkipped } from '../../lib/launch/postgres.js'
import { waitFor } from '../helpers/poll.js'
import type { RunningService } from '../../lib/launch/service.js'
import { startCluster, type Cluster } from '../../lib/launch/system.js'
import { seededRng, verify, Workload } from '../helpers/workload.js'

// One gateway, two usuarios and two pagos processes on one PostgreSQL
// database per service and one broker prefix. The built services, for real.
const skip = postgresSkipped && 'SKIP_POSTGRES=1'

let c: Cluster
t.before(async () => {
  if (skip !== false) return
  c = await startCluster('multi', {
    usuarios: 2,
    pagos: 2,
    database: 'postgres',
    env: {
      PROCESADOR_LATENCIA_MS: '5',
      PROCESADOR_TASA_FALLO: '0.2',
      PROCESADOR_SEMILLA: 'multi',
      AMQP_RETRY_DELAY_MS: '100',
      OUTBOX_POLL_MS: '200',
      UPSTREAM_COOLDOWN_MS: '1000',
      // One client makes every request here: the per-client limit is not under test.
      RATE_LIMIT_MAX: '0'
    }
  })
})
t.teardown(async () => { await c?.stop() })

/** `p`, or a failure after `ms`. */
async function bounded<T> (p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms) })
  try {
    return await Promise.race([p, timeout])
  } finally {
    clearTimeout(timer)
  }
}

const logged = (s: RunningService, msg: string): number => s.lines.filter((l) => l.msg === msg).length

t.test('two usuarios starting together on one database created Willis and Ana once', { skip }, async (t) => {
  const r = await call('GET', `${c.gateway.url}/usuarios?limit=100`)
  t.equal(r.status, 200)
  t.match(r.body, { total: 2, usuarios: [{ id: 1, nombre: 'Willis', saldo: 500 }, { id: 2, nombre: 'Ana', saldo: 700 }] })
  t.equal(c.usuarios.map((s) => logged(s, 'empty database: created Willis and Ana')).reduce((a, b) => a + b), 1, 'one instance seeded')
})

t.test('1,000 payments from 50 users through the gateway; one usuarios and one pagos killed mid-run', { skip }, async (t) => {
  const w = new Workload(() => c.gateway.url, seededRng(2024), 'multi')
  await w.createUsers(50, 300)
  const payments = (): number => w.figures.accepted + w.figures.refused
  // 100 clients in flight; each step is mostly a payment (some top-ups and retried keys).
  const load = w.run(100, () => payments() >= 1000)

  await waitFor('300 payments answered', () => payments() >= 300, { timeoutMs: 180_000, intervalMs: 20 })
  const [u1, u2] = c.usuarios as [RunningService, RunningService]
  const [p1, p2] = c.pagos as [RunningService, RunningService]
  const beforeKill = { usuarios: logged(u1, 'pago aceptado'), pagos: logged(p1, 'pago procesado') }
  u1.process.kill('SIGKILL')
  p1.process.kill('SIGKILL')
  await Promise.all([u1.exited, p1.exited])
  const answeredAtKill = payments()

  await bounded(load, 300_000, 'the load to finish')
  t.ok(payments() >= 1000, `${payments()} payments answered (${w.figures.accepted} accepted, ${w.figures.refused} refused), ${payments() - answeredAtKill} after the kill`)

  const v = await verify(w, { usuarios: u2.url, pagos: p2.url }, 180_000)
  t.equal(w.figures.unknown, 0, 'every request got a definite answer')
  t.equal(w.figures.replayMismatches, 0, 'every retried key answered as the first time')
  t.equal(v.lost, 0, 'no accepted payment lost or left pendiente')
  t.equal(v.duplicated, 0, 'no payment doubled: every 202 is exactly one payment')
  t.same(v.violations, [], 'for every user: inicial + recargas − completados − pendientes = saldo, saldo >= 0; pagos agrees')
  t.equal(v.completed + v.failed, w.figures.accepted, 'each accepted request is exactly one final payment')
  t.ok(v.completed > 0 && v.failed > 0, `${v.completed} completed, ${v.failed} failed (refunded)`)

  t.ok(beforeKill.usuarios > 0 && logged(u2, 'pago aceptado') > 0, `both usuarios accepted payments (${beforeKill.usuarios} and ${logged(u2, 'pago aceptado')})`)
  t.ok(beforeKill.pagos > 0 && logged(p2, 'pago procesado') > 0, `both pagos processed payments (${beforeKill.pagos} and ${logged(p2, 'pago procesado')})`)
})

t.test('with one instance of each service stopped, requests still succeed through the other', { skip }, async (t) => {
  for (let i = 0; i < 10; i++) {
    t.equal((await call('GET', `${c.gateway.url}/usuarios/1`)).status, 200)
    t.equal((await call('GET', `${c.gateway.url}/pagos/status`)).status, 200)
  }
  const r = await call('POST', `${c.gateway.url}/usuarios/2/pagar`, { monto: 1 })
  t.equal(r.status, 202)
  const health = await call('GET', `${c.gateway.url}/health`)
  t.equal(health.status, 200, 'the gateway is healthy while each service has an instance')
  for (const servicio of ['usuarios', 'pagos']) {
    t.match(health.body.servicios[servicio], { status: 'ok', instancias: [{ status: 'caido', disponible: false }, { status: 'ok', disponible: true }] }, `${servicio}: the killed instance is shown down`)
  }
})

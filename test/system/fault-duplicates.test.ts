import type { Connection, Publisher, SyncMessage } from 'rabbitmq-client'
import t from 'tap'
import { topology, type Topology } from '../../contracts/topology.js'
import { bodyBytes, connectBroker, deleteRunQueues, queueDepth, takeAll } from '../helpers/amqp-peek.js'
import { call } from '../helpers/http.js'
import { waitFor } from '../helpers/poll.js'
import { startSystem, type System } from '../../lib/launch/system.js'

// Every message the system published, delivered twice more and out of order:
// balances, payment states and figures are exactly those of single delivery.
// The provider refuses about half the payments (by seed), so both refunds and
// completions get duplicated.
let sys: System
let rabbit: Connection
let pub: Publisher
let top: Topology
let tapQueue: string
t.before(async () => {
  sys = await startSystem('dup', { PROCESADOR_TASA_FALLO: '0.5', PROCESADOR_SEMILLA: 'dup' })
  top = topology(sys.prefix)
  tapQueue = `${sys.prefix}.tap`
  rabbit = connectBroker()
  // A tap on the run's events exchange, declared before any traffic.
  await rabbit.exchangeDeclare({ exchange: top.exchange, type: 'topic', durable: true })
  await rabbit.queueDeclare({ queue: tapQueue, durable: true })
  await rabbit.queueBind({ exchange: top.exchange, queue: tapQueue, routingKey: '#' })
  pub = rabbit.createPublisher({ confirm: true, maxAttempts: 2 })
})
t.teardown(async () => {
  await pub?.close()
  await rabbit?.close()
  if (sys !== undefined) await deleteRunQueues(sys.prefix, [tapQueue])
  await sys?.stop()
})

const gw = (path: string): string => `${sys.gateway.url}${path}`
const cents = (n: number): number => Math.round(n * 100)
const SALDOS = [500, 321.5, 1000, 77.77, 250]
const MONTOS = [10, 0.01, 33.33, 5.5, 20, 1.99]
const SEED = 20261128

/** A small seeded PRNG (mulberry32), so that a failing order can be replayed. */
function shuffled<T> (items: T[], seed: number): T[] {
  let a = seed >>> 0
  const rand = (): number => {
    a = (a + 0x6D2B79F5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

interface State {
  saldos: Record<number, number>
  /** pagoId → estado as usuarios shows it. */
  enUsuarios: Record<string, string>
  /** pagoId → estado and motivo as pagos shows it. */
  enPagos: Record<string, { estado: string, motivo: string }>
  figures: { procesados: number, fallidos: number, deadLetter: number, dlqUsuarios: number, dlqPagos: number }
}

let usuarios: Array<{ id: number, saldo: number }> = []

async function state (): Promise<State> {
  const s: State = { saldos: {}, enUsuarios: {}, enPagos: {}, figures: { procesados: 0, fallidos: 0, deadLetter: 0, dlqUsuarios: 0, dlqPagos: 0 } }
  for (const u of usuarios) {
    s.saldos[u.id] = (await call('GET', gw(`/usuarios/${u.id}`))).body.saldo
    for (const p of (await call('GET', gw(`/usuarios/${u.id}/pagos?limit=100`))).body.pagos) {
      s.enUsuarios[p.id] = p.estado
      const enPagos = (await call('GET', gw(`/pagos/${p.id}`))).body
      s.enPagos[p.id] = { estado: enPagos.estado, motivo: enPagos.motivo }
    }
  }
  const status = (await call('GET', gw('/pagos/status'))).body
  s.figures = {
    procesados: status.procesados,
    fallidos: status.fallidos,
    deadLetter: status.deadLetter,
    dlqUsuarios: await queueDepth(rabbit, top.queues.usuarios.deadLetterQueue),
    dlqPagos: await queueDepth(rabbit, top.queues.pagos.deadLetterQueue)
  }
  return s
}

/** Duplicates a service took no action on; pagos also counts those it answered with the recorded result. */
const ignored = (service: 'usuarios' | 'pagos'): number =>
  sys[service].lines.filter((l) => typeof l.msg === 'string' && (l.msg.includes('duplicado ignorado') || (service === 'pagos' && l.msg.startsWith('pago.solicitado duplicado')))).length
/** Duplicated pago.solicitado pagos answered with the result it had recorded (a new pago.procesado, no provider call). */
const answered = (): number =>
  sys.pagos.lines.filter((l) => l.msg === 'pago.solicitado duplicado respondido con el resultado registrado').length

let captured: SyncMessage[] = []
let single: State

t.test('traffic with a provider that refuses about half: every payment final, every message captured', async (t) => {
  usuarios = await Promise.all(SALDOS.map(async (saldo, i) => {
    const r = await call('POST', gw('/usuarios'), { nombre: `Duplicado ${i}`, saldo })
    t.equal(r.status, 201)
    return { id: r.body.id as number, saldo }
  }))
  const sent = await Promise.all(usuarios.flatMap((u) => MONTOS.map(async (monto, i) =>
    await call('POST', gw(`/usuarios/${u.id}/pagar`), { monto, concepto: `dup ${i}` }))))
  t.ok(sent.every((r) => r.status === 202), `all ${sent.length} payments accepted`)
  const total = usuarios.length * MONTOS.length

  for (const u of usuarios) {
    await waitFor(`payments of user ${u.id} final`, async () => {
      const r = (await call('GET', gw(`/usuarios/${u.id}/pagos?limit=100`))).body
      return r.total === MONTOS.length && r.pagos.every((p: any) => p.estado !== 'pendiente')
    }, { timeoutMs: 30_000, intervalMs: 200 })
  }
  await waitFor('every solicitado and procesado captured', async () => await queueDepth(rabbit, tapQueue) >= 2 * total, { timeoutMs: 30_000, intervalMs: 100 })
  captured = await takeAll(rabbit, tapQueue)
  t.equal(captured.length, 2 * total, 'one pago.solicitado and one pago.procesado per payment, no more')
  for (const name of ['pago.solicitado', 'pago.procesado']) {
    const ofType = captured.filter((m) => m.routingKey === name)
    t.equal(ofType.length, total, `${total} ${name}`)
    t.equal(new Set(ofType.map((m) => m.messageId)).size, total, `${name}: one per payment id`)
    t.ok(ofType.every((m) => m.type === name && m.contentType === 'application/json' && m.durable && typeof m.correlationId === 'string'),
      `${name}: type, contentType, correlationId, persistent`)
    t.ok(ofType.every((m) => (m.body as { pagoId?: string }).pagoId === m.messageId), `${name}: messageId = pagoId`)
  }

  single = await state()
  const estados = Object.values(single.enUsuarios)
  t.equal(estados.length, total)
  t.ok(estados.includes('completado') && estados.includes('fallido'), `both outcomes (${estados.filter((e) => e === 'completado').length} completados, ${estados.filter((e) => e === 'fallido').length} fallidos)`)
  t.same(Object.fromEntries(Object.entries(single.enPagos).map(([id, p]) => [id, p.estado])), single.enUsuarios, 'usuarios and pagos agree on every payment')
  t.match(single.figures, { procesados: estados.filter((e) => e === 'completado').length, fallidos: estados.filter((e) => e === 'fallido').length, dlqUsuarios: 0, dlqPagos: 0 })
})

t.test('every message delivered twice more, shuffled then reversed: nothing changes', async (t) => {
  t.comment(`shuffle seed ${SEED}`)
  const again = [...shuffled(captured, SEED), ...[...captured].reverse()]
  const ignoredBefore = { usuarios: ignored('usuarios'), pagos: ignored('pagos') }
  const answeredBefore = answered()
  await Promise.all(again.map(async (m) => {
    await pub.send({
      exchange: top.exchange,
      routingKey: m.routingKey,
      messageId: m.messageId,
      correlationId: m.correlationId,
      type: m.type,
      contentType: m.contentType,
      timestamp: m.timestamp,
      durable: true
    }, bodyBytes(m))
  }))
  const perService = again.length / 2
  // pagos answers every duplicated pago.solicitado (it recorded them all) with its recorded
  // result: perService more pago.procesado, which usuarios ignores as well.

  await waitFor('every duplicate consumed', async () => {
    for (const q of [top.queues.usuarios, top.queues.pagos]) {
      if (await queueDepth(rabbit, q.queue) !== 0 || await queueDepth(rabbit, q.retryQueue) !== 0) return false
    }
    return ignored('usuarios') - ignoredBefore.usuarios >= 2 * perService && ignored('pagos') - ignoredBefore.pagos >= perService
  }, { timeoutMs: 30_000, intervalMs: 100 }).catch((err) => {
    t.fail(`${String(err)}: usuarios ignored ${ignored('usuarios') - ignoredBefore.usuarios} of ${2 * perService}, pagos ${ignored('pagos') - ignoredBefore.pagos} of ${perService}`)
  })
  t.equal(ignored('usuarios') - ignoredBefore.usuarios, 2 * perService, `usuarios ignored all ${perService} duplicated pago.procesado and the ${perService} answers to duplicated requests`)
  t.equal(ignored('pagos') - ignoredBefore.pagos, perService, `pagos took no new action on any of the ${perService} duplicated pago.solicitado`)
  t.equal(answered() - answeredBefore, perService, 'it answered each with the result it had recorded')

  // A short bounded look that nothing moves afterwards: outboxes empty, same state each time.
  for (let i = 0; i < 5; i++) {
    const [u, p] = await Promise.all([call('GET', `${sys.usuarios.url}/health/ready`), call('GET', `${sys.pagos.url}/health/ready`)])
    t.equal(u.body.outboxPendientes + p.body.outboxPendientes, 0, `outboxes empty (look ${i + 1})`)
    t.same(await state(), single, `state identical to single delivery (look ${i + 1})`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }

  // The tap saw the duplicates we sent and pagos' answers, each the very result it published the first time.
  const seenAfter = await takeAll(rabbit, tapQueue)
  t.equal(seenAfter.length, again.length + perService, 'what we sent, plus one pago.procesado per duplicated request')
  t.equal(seenAfter.filter((m) => m.routingKey === 'pago.solicitado').length, perService, 'no service asked pagos again')
  const original = new Map(captured.filter((m) => m.routingKey === 'pago.procesado').map((m) => [m.messageId, JSON.stringify(m.body)]))
  t.ok(seenAfter.filter((m) => m.routingKey === 'pago.procesado').every((m) => original.get(m.messageId) === JSON.stringify(m.body)),
    'every pago.procesado seen is the recorded result, as first published')
})

t.test('duplicates while the payments are still in flight: each message doubled the moment it is published', async (t) => {
  const MAS = [2, 0.5, 3.25, 1]
  const ignoredBefore = { usuarios: ignored('usuarios'), pagos: ignored('pagos') }
  const answeredBefore = answered()
  const originals = { 'pago.solicitado': 0, 'pago.procesado': 0 }
  // Every message the services publish is sent twice more at once, racing the original.
  const doubler = rabbit.createConsumer({ queue: tapQueue, queueOptions: { durable: true }, qos: { prefetchCount: 50 }, concurrency: 50 }, async (m) => {
    if (m.headers?.['x-duplicado'] !== undefined) return
    originals[m.routingKey as keyof typeof originals]++
    await Promise.all([1, 2].map(async (n) => await pub.send({
      exchange: top.exchange,
      routingKey: m.routingKey,
      messageId: m.messageId,
      correlationId: m.correlationId,
      type: m.type,
      contentType: m.contentType,
      durable: true,
      headers: { 'x-duplicado': String(n) }
    }, bodyBytes(m))))
  })
  doubler.on('error', (err) => { t.fail(`tap consumer: ${String(err)}`) })
  t.teardown(async () => { await doubler.close() })

  const sent = await Promise.all(usuarios.flatMap((u) => MAS.map(async (monto) => await call('POST', gw(`/usuarios/${u.id}/pagar`), { monto }))))
  t.ok(sent.every((r) => r.status === 202), `all ${sent.length} payments accepted`)
  // pagos takes no new action on the two copies of each request: a copy
  // waits for the one being handled, then is answered with the recorded
  // result (a new pago.procesado, doubled by the tap like any other).
  const expected = 2 * sent.length
  const procesados = (): number => sent.length + answered() - answeredBefore
  for (const u of usuarios) {
    await waitFor(`payments of user ${u.id} final`, async () => {
      const r = (await call('GET', gw(`/usuarios/${u.id}/pagos?limit=100`))).body
      return r.total === MONTOS.length + MAS.length && r.pagos.every((p: any) => p.estado !== 'pendiente')
    }, { timeoutMs: 30_000, intervalMs: 200 })
  }
  await waitFor('every duplicate consumed', async () => {
    for (const q of [top.queues.usuarios, top.queues.pagos]) {
      if (await queueDepth(rabbit, q.queue) !== 0 || await queueDepth(rabbit, q.retryQueue) !== 0) return false
    }
    return originals['pago.solicitado'] >= sent.length && originals['pago.procesado'] >= procesados() &&
      ignored('usuarios') - ignoredBefore.usuarios >= 3 * procesados() - sent.length && ignored('pagos') - ignoredBefore.pagos >= expected
  }, { timeoutMs: 30_000, intervalMs: 100 }).catch((err) => {
    t.fail(`${String(err)}: ${JSON.stringify(originals)} originals seen, usuarios ignored ${ignored('usuarios') - ignoredBefore.usuarios}, pagos ${ignored('pagos') - ignoredBefore.pagos} of ${expected}`)
  })
  t.equal(originals['pago.solicitado'], sent.length, 'usuarios published one pago.solicitado per payment')
  t.equal(originals['pago.procesado'], procesados(), 'pagos published one pago.procesado per payment, plus one answer per copy that came after the record')
  t.equal(ignored('usuarios') - ignoredBefore.usuarios, 3 * procesados() - sent.length, 'usuarios applied one pago.procesado per payment and ignored every other copy')
  t.equal(ignored('pagos') - ignoredBefore.pagos, expected, 'pagos took no new action on either copy of any pago.solicitado')
  const now = await state()
  t.same(Object.fromEntries(Object.entries(now.enPagos).map(([id, p]) => [id, p.estado])), now.enUsuarios, 'usuarios and pagos agree on every payment')
  const estados = Object.values(now.enUsuarios)
  t.match(now.figures, { procesados: estados.filter((e) => e === 'completado').length, fallidos: estados.filter((e) => e === 'fallido').length, dlqUsuarios: 0, dlqPagos: 0 },
    'pagos counts each payment once; no dead letters')
})

t.test('the money invariant holds per user: saldo = initial − completed, nothing pending', async (t) => {
  for (const u of usuarios) {
    const pagos = (await call('GET', gw(`/usuarios/${u.id}/pagos?limit=100`))).body.pagos as Array<{ estado: string, monto: number }>
    t.equal(pagos.filter((p) => p.estado === 'pendiente').length, 0, `user ${u.id}: nothing pending`)
    const completed = pagos.filter((p) => p.estado === 'completado').reduce((sum, p) => sum + cents(p.monto), 0)
    const saldo = (await call('GET', gw(`/usuarios/${u.id}`))).body.saldo
    t.equal(cents(saldo), cents(u.saldo) - completed, `user ${u.id}: ${saldo} = ${u.saldo} − ${completed / 100}`)
    t.ok(saldo >= 0)
  }
  t.equal((await call('GET', gw('/pagos/status'))).body.deadLetter, 0, 'no dead letter anywhere')
})

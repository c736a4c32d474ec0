import { randomUUID } from 'node:crypto'
import type { Connection, Publisher } from 'rabbitmq-client'
import t from 'tap'
import { topology } from '../../contracts/topology.js'
import { startSystem, type System } from '../../lib/launch/system.js'
import { connectBroker, peekAll } from '../helpers/amqp-peek.js'
import { call } from '../helpers/http.js'
import { waitFor } from '../helpers/poll.js'

// Refunds of completed payments through the built services (gateway,
// usuarios, pagos, RabbitMQ). The provider refuses about half of everything
// (deterministically, by seed and id), so both outcomes of a refund are seen.
let sys: System
let rabbit: Connection
let pub: Publisher
t.before(async () => {
  sys = await startSystem('reembolsos', { PROCESADOR_TASA_FALLO: '0.5', PROCESADOR_SEMILLA: 'e2e-reembolsos' })
  rabbit = connectBroker()
  pub = rabbit.createPublisher({ confirm: true, maxAttempts: 2 })
})
t.teardown(async () => {
  await pub?.close()
  await rabbit?.close()
  await sys?.stop()
})

const gw = (path: string): string => `${sys.gateway.url}${path}`
const cents = (money: number): number => Math.round(money * 100)
const saldo = async (id: number): Promise<number> => cents((await call('GET', gw(`/usuarios/${id}`))).body.saldo)

async function final (path: string): Promise<any> {
  return await waitFor(`${path} final`, async () => {
    const r = await call('GET', gw(path))
    return r.status === 200 && r.body.estado !== 'pendiente' && r.body
  })
}

/** A completed payment of `monto` by a new usuario (payments are paid until one completes). */
async function completedPago (monto: number): Promise<{ usuarioId: number, pago: any }> {
  const usuario = (await call('POST', gw('/usuarios'), { nombre: 'Reembolsos', saldo: 1000 })).body
  for (let i = 0; i < 30; i++) {
    const r = await call('POST', gw(`/usuarios/${usuario.id as number}/pagar`), { monto })
    const pago = await final(r.headers.get('location')!)
    if (pago.estado === 'completado') return { usuarioId: usuario.id, pago }
  }
  throw new Error('no payment completed in 30')
}

t.test('payment completado, a partial refund completado: the saldo is credited once; a refused refund credits nothing', async (t) => {
  const { usuarioId, pago } = await completedPago(40)
  const base = `/usuarios/${usuarioId}/pagos/${pago.id as string}/reembolsos`
  const outcomes = new Set<string>()
  let credited = 0
  const before = await saldo(usuarioId)
  // 1 cent at a time: the provider's draw is by refund id, so both outcomes show within a few.
  for (let i = 0; i < 40 && outcomes.size < 2; i++) {
    const r = await call('POST', gw(base), { monto: 0.01, motivo: 'parcial' }, { 'x-request-id': `reembolso-e2e-${i}` })
    t.equal(r.status, 202)
    t.equal(r.headers.get('location'), `${base}/${r.body.reembolso.id as string}`)
    const done = await final(r.headers.get('location')!)
    outcomes.add(done.estado)
    if (done.estado === 'completado') credited += 1
    else t.equal(done.motivoFallo, 'Reembolso rechazado por el proveedor', 'fallido says why')
    t.equal(await saldo(usuarioId), before + credited, `after refund ${i}: only completed refunds credited`)
  }
  t.same([...outcomes].sort(), ['completado', 'fallido'], 'both outcomes seen')
  t.equal(cents((await call('GET', gw(`/usuarios/${usuarioId}/pagos/${pago.id as string}`))).body.reembolsado), credited, "the payment's reembolsado")
  const listed = (await call('GET', `${sys.usuarios.url}${base}`)).body.reembolsos
  t.equal(listed.filter((r: any) => r.estado === 'completado').length, credited, "on usuarios' own port too")
})

t.test('a reembolso.procesado delivered twice credits once', async (t) => {
  const { usuarioId, pago } = await completedPago(10)
  let done: any
  for (let i = 0; i < 40; i++) {
    const r = await call('POST', gw(`/usuarios/${usuarioId}/pagos/${pago.id as string}/reembolsos`), { monto: 0.01 })
    done = await final(r.headers.get('location')!)
    if (done.estado === 'completado') break
  }
  t.equal(done.estado, 'completado')
  const after = await saldo(usuarioId)
  const top = topology(sys.prefix)
  const message = { tipo: 'reembolso.procesado', version: 1, reembolsoId: done.id, pagoId: pago.id, usuarioId, montoCentimos: 1, estado: 'completado', motivo: 'Reembolso aprobado por el proveedor', procesadoEn: new Date().toISOString() }
  for (let i = 0; i < 2; i++) {
    await pub.send({ exchange: top.exchange, routingKey: 'reembolso.procesado', durable: true, messageId: done.id, type: 'reembolso.procesado', contentType: 'application/json' }, Buffer.from(JSON.stringify(message)))
  }
  // A result for a refund usuarios never made, sent last: once it is dead-lettered, the copies before it were consumed.
  const unknown = randomUUID()
  await pub.send({ exchange: top.exchange, routingKey: 'reembolso.procesado', durable: true, messageId: unknown, contentType: 'application/json' }, Buffer.from(JSON.stringify({ ...message, reembolsoId: unknown })))
  await waitFor('the unknown refund dead-lettered', async () =>
    (await peekAll(rabbit, top.queues.usuarios.deadLetterQueue)).some((m) => m.messageId === unknown))
  t.equal(await saldo(usuarioId), after, 'credited once')
})

t.test('a refund of a payment pagos never processed is dead-lettered with its reason', async (t) => {
  const top = topology(sys.prefix)
  const reembolsoId = randomUUID()
  const pagoId = randomUUID()
  const message = { tipo: 'reembolso.solicitado', version: 1, reembolsoId, pagoId, usuarioId: 1, montoCentimos: 100, motivo: null, solicitadoEn: new Date().toISOString() }
  await pub.send({ exchange: top.exchange, routingKey: 'reembolso.solicitado', durable: true, messageId: reembolsoId, correlationId: 'nunca-visto', contentType: 'application/json' }, Buffer.from(JSON.stringify(message)))
  const dead = await waitFor('dead letter', async () => (await peekAll(rabbit, top.queues.pagos.deadLetterQueue)).find((m) => m.messageId === reembolsoId))
  t.match(String(dead.headers?.['x-motivo']), `pagos nunca procesó el pago ${pagoId}`)
  t.equal(dead.correlationId, 'nunca-visto')
  const metrics = (await call('GET', `${sys.pagos.url}/metrics`)).body as string
  t.match(metrics, /messages_dead_lettered_total\{[^}]*cause="rejected"[^}]*message="reembolso\.solicitado"|messages_dead_lettered_total\{[^}]*message="reembolso\.solicitado"[^}]*cause="rejected"/)
})

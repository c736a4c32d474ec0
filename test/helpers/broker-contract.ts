import { randomUUID } from 'node:crypto'
import type { Test } from './apps.js'
import { waitFor } from './poll.js'
import { MessageExamples } from '../../contracts/asyncapi.js'
import type { MessageName, PagoSolicitadoV1 } from '../../contracts/messages.js'
import type { ConsumerName } from '../../contracts/topology.js'
import type { Broker } from '../../lib/messaging/broker.js'
import { dispatch, UnroutableError, type Delivery } from '../../lib/messaging/delivery.js'

/** A broker under test, and a way to read its dead-letter queue that the Broker interface does not offer. */
export interface BrokerUnderTest {
  broker: Broker
  /** What waits in a consumer's dead-letter queue, with the reason each carries. */
  deadLetters: (consumer: ConsumerName) => Promise<Array<{ messageId: string | undefined, reason: string }>>
}

/** Builds a fresh broker (its own queues) with these settings, ready to publish; closed and cleaned up at the test's teardown. */
export type MakeBroker = (t: Test, opts: { maxAttempts: number, retryDelayMs: number }) => Promise<BrokerUnderTest>

function solicitado (concepto: string): { json: string, pagoId: string } {
  const pagoId = randomUUID()
  const example = MessageExamples['pago.solicitado'] as PagoSolicitadoV1
  return { json: JSON.stringify({ ...example, pagoId, concepto }), pagoId }
}

/** Resolves once `gate.open()` is called. */
function gate (): { wait: Promise<void>, open: () => void } {
  let open!: () => void
  const wait = new Promise<void>((resolve) => { open = resolve })
  return { wait, open }
}

const settle = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/**
 * One behaviour for every Broker (as node-ts/bus holds its transports to one
 * suite): what a service relies on when it publishes and consumes.
 */
export function brokerContract (t: Test, make: MakeBroker): void {
  const defaults = { maxAttempts: 3, retryDelayMs: 10 }

  t.test('a published message reaches the consumer of its name, once, with its envelope', async (t) => {
    const { broker, deadLetters } = await make(t, defaults)
    const seen: Array<Delivery<'pago.solicitado'>> = []
    broker.consume('pagos', async (d: Delivery<'pago.solicitado'>) => { seen.push(d); return { ack: true } })
    const m = solicitado('contrato')
    await broker.publishRaw('pago.solicitado', m.json, { messageId: m.pagoId, correlationId: 'req-contrato' })
    await waitFor('delivery', () => seen.length === 1)
    await settle(100)
    t.equal(seen.length, 1, 'delivered once (acked, not redelivered)')
    t.match(seen[0], { messageId: m.pagoId, correlationId: 'req-contrato', attempt: 1, message: { pagoId: m.pagoId, concepto: 'contrato' } })
    t.equal(await broker.deadLetterCount('pagos'), 0, 'nothing dead-lettered')
    t.same(await deadLetters('pagos'), [])
  })

  t.test('a queue that carries several messages hands each to the handler of its name, checked against its own contract', async (t) => {
    const { broker, deadLetters } = await make(t, defaults)
    const seen: string[] = []
    broker.consume('pagos', dispatch({
      'pago.solicitado': async (d) => { seen.push(`pago ${d.message.pagoId}`); return { ack: true } },
      'reembolso.solicitado': async (d) => { seen.push(`reembolso ${d.message.reembolsoId}`); return { ack: true } }
    }))
    const m = solicitado('varios')
    const reembolso = { ...(MessageExamples['reembolso.solicitado'] as object), reembolsoId: randomUUID() } as { reembolsoId: string }
    await broker.publishRaw('pago.solicitado', m.json, { messageId: m.pagoId })
    await broker.publishRaw('reembolso.solicitado', JSON.stringify(reembolso), { messageId: reembolso.reembolsoId })
    const bad = randomUUID()
    await broker.publishRaw('reembolso.solicitado', JSON.stringify({ ...reembolso, montoCentimos: 0 }), { messageId: bad })
    await waitFor('both delivered, the bad one dead-lettered', async () => seen.length === 2 && await broker.deadLetterCount('pagos') === 1)
    t.same(seen.sort(), [`pago ${m.pagoId}`, `reembolso ${reembolso.reembolsoId}`].sort())
    const [dead] = await deadLetters('pagos')
    t.equal(dead?.messageId, bad)
    t.match(dead?.reason, /^contract reembolso\.solicitado v1: \/montoCentimos/)
  })

  t.test('a message the handler refuses is dead-lettered with its reason, and counted', async (t) => {
    const { broker, deadLetters } = await make(t, defaults)
    let calls = 0
    broker.consume('pagos', async () => { calls++; return { deadLetter: 'rechazado por el contrato' } })
    const m = solicitado('rechazar')
    await broker.publishRaw('pago.solicitado', m.json, { messageId: m.pagoId })
    await waitFor('dead letter counted', async () => await broker.deadLetterCount('pagos') === 1)
    t.equal(calls, 1, 'the handler saw it once')
    t.same(await deadLetters('pagos'), [{ messageId: m.pagoId, reason: 'rechazado por el contrato' }])
  })

  t.test('a body that fails its contract is dead-lettered without reaching the handler', async (t) => {
    const { broker, deadLetters } = await make(t, defaults)
    let calls = 0
    broker.consume('pagos', async () => { calls++; return { ack: true } })
    const id = randomUUID()
    await broker.publishRaw('pago.solicitado', '{"tipo":"pago.solicitado","version":99}', { messageId: id })
    await waitFor('dead letter counted', async () => await broker.deadLetterCount('pagos') === 1)
    t.equal(calls, 0, 'the handler never saw it')
    const [dead] = await deadLetters('pagos')
    t.equal(dead?.messageId, id)
    t.match(dead?.reason, /^contract pago\.solicitado v1/)
  })

  t.test('a handler that throws gets the message again, attempt counted, until it succeeds', async (t) => {
    const { broker } = await make(t, defaults)
    const attempts: number[] = []
    broker.consume('pagos', async (d) => {
      attempts.push(d.attempt)
      if (d.attempt === 1) throw new Error('fallo transitorio de prueba')
      return { ack: true }
    })
    const m = solicitado('reintentar')
    await broker.publishRaw('pago.solicitado', m.json, { messageId: m.pagoId })
    await waitFor('second attempt', () => attempts.length === 2)
    await settle(100)
    t.same(attempts, [1, 2], 'one retry, then acked')
    t.equal(await broker.deadLetterCount('pagos'), 0)
  })

  t.test('a handler that keeps throwing is dead-lettered after maxAttempts, saying why', async (t) => {
    const { broker, deadLetters } = await make(t, defaults)
    const attempts: number[] = []
    broker.consume('pagos', async (d) => { attempts.push(d.attempt); throw new Error('siempre falla') })
    const m = solicitado('agotar')
    await broker.publishRaw('pago.solicitado', m.json, { messageId: m.pagoId })
    await waitFor('dead letter counted', async () => await broker.deadLetterCount('pagos') === 1)
    t.same(attempts, [1, 2, 3], 'maxAttempts deliveries')
    const [dead] = await deadLetters('pagos')
    t.equal(dead?.messageId, m.pagoId)
    t.match(dead?.reason, /fallo transitorio tras 3 intentos: siempre falla/)
  })

  // Regression: while PostgreSQL restarted, messages used up their attempts
  // on "the database system is starting up" and were dead-lettered.
  t.test('a handler that throws because the database is away is retried without using up an attempt, then succeeds', async (t) => {
    const { broker } = await make(t, defaults)
    const attempts: number[] = []
    broker.consume('pagos', async (d) => {
      attempts.push(d.attempt)
      if (attempts.length <= 5) throw Object.assign(new Error('the database system is starting up'), { code: '57P03' })
      return { ack: true }
    })
    const m = solicitado('base caida')
    await broker.publishRaw('pago.solicitado', m.json, { messageId: m.pagoId })
    await waitFor('the delivery after the database came back', () => attempts.length === 6)
    await settle(100)
    t.same(attempts, [1, 1, 1, 1, 1, 1], 'more deliveries than maxAttempts, each still the first attempt')
    t.equal(await broker.deadLetterCount('pagos'), 0, 'nothing dead-lettered')
  })

  t.test('a message no queue takes is refused: the publish rejects', async (t) => {
    const { broker } = await make(t, defaults)
    await t.rejects(broker.publishRaw('pago.desconocido' as MessageName, '{}', { messageId: randomUUID() }), UnroutableError)
  })

  t.test('in a batch of publishes sent together (an outbox relay batch), exactly the unroutable ones reject', async (t) => {
    const { broker } = await make(t, defaults)
    const unroutable = (i: number): boolean => i % 4 === 1 || i === 39
    const outcomes = await Promise.allSettled(Array.from({ length: 40 }, async (_, i) => {
      if (unroutable(i)) return await broker.publishRaw('pago.desconocido' as MessageName, '{}', { messageId: randomUUID() })
      const m = solicitado(`lote-${i}`)
      return await broker.publishRaw('pago.solicitado', m.json, { messageId: m.pagoId })
    }))
    t.same(outcomes.map((o) => o.status === 'rejected' && o.reason instanceof UnroutableError),
      outcomes.map((_, i) => unroutable(i)), 'rejected with UnroutableError exactly where unroutable')
  })

  t.test('stopConsuming lets the handler in flight finish, then takes nothing more', async (t) => {
    const { broker } = await make(t, defaults)
    const entered = gate()
    const release = gate()
    const finished: string[] = []
    const started: string[] = []
    broker.consume('pagos', async (d: Delivery<'pago.solicitado'>) => {
      started.push(d.message.pagoId)
      entered.open()
      await release.wait
      finished.push(d.message.pagoId)
      return { ack: true }
    })
    const first = solicitado('en-vuelo')
    await broker.publishRaw('pago.solicitado', first.json, { messageId: first.pagoId })
    await entered.wait
    let stopped = false
    const stopping = broker.stopConsuming().then(() => { stopped = true })
    await settle(50)
    t.notOk(stopped, 'stopConsuming waits for the handler in flight')
    release.open()
    await stopping
    t.same(finished, [first.pagoId], 'the handler in flight finished')
    const later = solicitado('despues')
    await broker.publishRaw('pago.solicitado', later.json, { messageId: later.pagoId })
    await settle(200)
    t.same(started, [first.pagoId], 'nothing taken after stopConsuming')
  })
}

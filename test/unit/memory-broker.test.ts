import t from 'tap'
import { createMemoryBroker } from '../../lib/messaging/memory-broker.js'
import { brokerContract } from '../helpers/broker-contract.js'

// The in-memory broker keeps the Broker contract; needs nothing running.
brokerContract(t, async (t, opts) => {
  const broker = createMemoryBroker(opts)
  t.teardown(async () => { await broker.close() })
  return {
    broker,
    deadLetters: async (consumer) => broker.deadLetters(consumer).map((m) => ({ messageId: m.messageId, reason: m.reason }))
  }
})

t.test('while away, publishes reject; back, onConnect listeners run and publishes succeed', async (t) => {
  const broker = createMemoryBroker({ connected: false })
  t.teardown(async () => { await broker.close() })
  let connects = 0
  broker.onConnect(() => { connects++ })
  t.equal(broker.isConnected(), false)
  await t.rejects(broker.publishRaw('pago.solicitado', '{}', { messageId: 'a' }), /not connected/)
  broker.connect()
  t.equal(connects, 1)
  await broker.publishRaw('pago.solicitado', '{}', { messageId: 'a' })
  t.same(broker.waiting('pagos').map((m) => m.messageId), ['a'], 'kept in the queue of pago.solicitado until consumed')
  t.same(broker.waiting('usuarios'), [], 'not in the other queue')
})

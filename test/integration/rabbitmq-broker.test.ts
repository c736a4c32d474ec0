import t from 'tap'
import { REASON_HEADER } from '../../lib/messaging/delivery.js'
import { createBroker } from '../../lib/messaging/broker.js'
import { connectBroker, peekAll } from '../helpers/amqp-peek.js'
import { silent } from '../helpers/apps.js'
import { brokerContract } from '../helpers/broker-contract.js'
import { waitFor } from '../helpers/poll.js'
import { AMQP_URL, deleteTopology, uniquePrefix } from '../../lib/launch/system.js'

// lib/messaging/broker.ts keeps the Broker contract against the real
// RabbitMQ (AMQP_URL); each case on a prefix of its own, deleted after.
brokerContract(t, async (t, opts) => {
  const prefix = uniquePrefix('contract')
  const broker = createBroker({ url: AMQP_URL, prefix, prefetch: 10, connectionName: 'contract', logger: silent, ...opts })
  const rabbit = connectBroker()
  t.teardown(async () => {
    await broker.close()
    await rabbit.close()
    await deleteTopology(prefix)
  })
  await waitFor('broker connected', () => broker.isConnected())
  return {
    broker,
    deadLetters: async (consumer) => (await peekAll(rabbit, broker.topology.queues[consumer].deadLetterQueue))
      .map((m) => ({ messageId: m.messageId, reason: String(m.headers?.[REASON_HEADER]) }))
  }
})

import t from 'tap'
import type { Socket } from 'node:net'
import { Connection, ConsumerStatus, type AsyncMessage } from 'rabbitmq-client'
import { batchAcks } from '../../lib/messaging/amqp-ack-batching.js'
import { AMQP_URL, uniquePrefix } from '../../lib/launch/system.js'
import { waitFor } from '../helpers/poll.js'

// Guards lib/messaging/amqp-ack-batching.ts, which reaches a private member
// of rabbitmq-client 5.0.8 (Consumer#_ch): the ack frames a channel sends
// are recorded (Channel#basicAck on its prototype), so these counts fail if
// a release stops the batching, and the redelivery checks fail if a batch
// ever acked a delivery whose handler had not finished.

interface Ack { deliveryTag?: number, multiple?: boolean }

const quorum = { durable: true, arguments: { 'x-queue-type': 'quorum' as const } }

function gate (): { wait: Promise<void>, open: () => void } {
  let open!: () => void
  const wait = new Promise<void>((resolve) => { open = resolve })
  return { wait, open }
}

t.test('acks settled in one tick leave as one multiple ack; an unfinished delivery is never covered', async (t) => {
  const queue = `${uniquePrefix('ack-batching')}.q`
  const rabbit = new Connection({ url: AMQP_URL, connectionTimeout: 5000, retryLow: 50, retryHigh: 200 })
  rabbit.on('error', () => {})
  await rabbit.queueDeclare({ queue, ...quorum })
  t.teardown(async () => {
    await rabbit.queueDelete({ queue })
    await rabbit.close()
  })

  // Record the ack frames every channel sends.
  const probe = await rabbit.acquire()
  const proto = Object.getPrototypeOf(probe) as { basicAck: (p: Ack) => void }
  await probe.close()
  const original = proto.basicAck
  const acks: Ack[] = []
  proto.basicAck = function (this: unknown, p: Ack) { acks.push({ deliveryTag: p.deliveryTag, multiple: p.multiple === true }); original.call(this, p) }
  t.teardown(() => { proto.basicAck = original })

  const N = 20
  let first = gate()
  const slow = gate()
  const seen: string[] = []
  const consumer = rabbit.createConsumer({ queue, queueOptions: quorum, qos: { prefetchCount: 50 }, concurrency: 50 }, async (msg: AsyncMessage) => {
    seen.push(String(msg.messageId))
    await (msg.messageId === 'lento' ? slow.wait : first.wait)
    return ConsumerStatus.ACK
  })
  consumer.on('error', () => {})
  t.teardown(async () => { slow.open(); await consumer.close() })
  t.ok(batchAcks(consumer, () => {}), 'the consumer\'s channel is reachable')
  await new Promise((resolve) => consumer.once('ready', resolve))

  const publisher = rabbit.createPublisher({ confirm: true })
  t.teardown(async () => { await publisher.close() })
  const publish = async (ids: string[]): Promise<void> => {
    for (const messageId of ids) await publisher.send({ routingKey: queue, messageId, durable: true }, 'x')
  }

  await publish(Array.from({ length: N }, (_, i) => `m${i}`))
  await waitFor('all in their handlers', () => seen.length === N)
  first.open()
  await waitFor('acked', () => acks.length > 0)
  await new Promise((resolve) => setImmediate(resolve))
  t.same(acks, [{ deliveryTag: N, multiple: true }], `${N} acks of one tick: one multiple ack`)

  // Tags N+1, N+2 (slow), N+3: the two that finish are acked, the slow one is not covered.
  acks.length = 0
  first = gate()
  first.open()
  await publish(['a', 'lento', 'b'])
  await waitFor('the two quick ones acked', () => acks.length === 2)
  await new Promise((resolve) => setImmediate(resolve))
  t.same(acks, [{ deliveryTag: N + 1, multiple: true }, { deliveryTag: N + 3, multiple: false }], 'the unfinished delivery (tag N + 2) is not covered')

  // Drop the connection while it still runs: the broker redelivers it, and only it.
  seen.length = 0
  ;(rabbit as unknown as { _socket: Socket })._socket.destroy()
  slow.open()
  await waitFor('redelivered after reconnecting', () => seen.includes('lento'))
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.same(seen, ['lento'], 'only the unfinished delivery came back')
})

t.test('closing a consumer sends the acks it holds before the channel closes', async (t) => {
  const queue = `${uniquePrefix('ack-batching-close')}.q`
  const rabbit = new Connection({ url: AMQP_URL, connectionTimeout: 5000 })
  rabbit.on('error', () => {})
  await rabbit.queueDeclare({ queue, ...quorum })
  t.teardown(async () => {
    await rabbit.queueDelete({ queue })
    await rabbit.close()
  })
  const release = gate()
  let inHandler = 0
  const consumer = rabbit.createConsumer({ queue, queueOptions: quorum, qos: { prefetchCount: 10 }, concurrency: 10 }, async () => {
    inHandler++
    await release.wait
    return ConsumerStatus.ACK
  })
  consumer.on('error', () => {})
  t.ok(batchAcks(consumer, () => {}), 'the consumer\'s channel is reachable')
  await new Promise((resolve) => consumer.once('ready', resolve))
  const publisher = rabbit.createPublisher({ confirm: true })
  for (let i = 0; i < 5; i++) await publisher.send({ routingKey: queue, durable: true }, 'x')
  await publisher.close()
  await waitFor('all five in their handlers', () => inHandler === 5)
  // The handlers finish as the consumer's basic.cancel returns, so their acks
  // are still held (until the end of the tick) when close() closes the channel.
  const ch = (consumer as unknown as { _ch: { basicCancel: (p: unknown) => Promise<unknown> } })._ch
  const cancel = ch.basicCancel.bind(ch)
  ch.basicCancel = async (p) => { const r = await cancel(p); release.open(); return r }
  await consumer.close()
  const { messageCount } = await rabbit.queueDeclare({ queue, passive: true })
  t.equal(messageCount, 0, 'nothing returned to the queue: every finished delivery was acked')
})

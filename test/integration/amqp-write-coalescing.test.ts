import t from 'tap'
import type { Socket } from 'node:net'
import { Connection, ConsumerStatus } from 'rabbitmq-client'
import { topology } from '../../contracts/topology.js'
import { openAmqpConnection } from '../../lib/messaging/amqp-connection.js'
import { createCheckedPublisher } from '../../lib/messaging/amqp-publisher.js'
import { declarations } from '../../lib/messaging/amqp-topology.js'
import { AMQP_URL, deleteTopology, uniquePrefix } from '../../lib/launch/system.js'
import { silent } from '../helpers/apps.js'
import { waitFor } from '../helpers/poll.js'

// Guards lib/messaging/amqp-write-coalescing.ts, which reaches a private
// member of rabbitmq-client 5.0.8 (Connection#_socket): if a release renames
// it or stops writing through it, the frames of one tick reach the kernel in
// one write each again and these counts fail.

const N = 20

/** Counts the writes that leave `socket`'s stream for the kernel (one per write or writev syscall). */
function countWrites (socket: Socket): { count: () => number, reset: () => void } {
  let n = 0
  const s = socket as unknown as Record<'_write' | '_writev', (...args: unknown[]) => unknown>
  for (const method of ['_write', '_writev'] as const) {
    const original = s[method]
    s[method] = function (this: unknown, ...args: unknown[]) { n++; return original.apply(this, args) }
  }
  return { count: () => n, reset: () => { n = 0 } }
}

function socketOf (connection: Connection): Socket {
  return (connection as unknown as { _socket: Socket })._socket
}

const envelope = (i: number) => ({ exchange: '', routingKey: '', messageId: `m-${i}`, contentType: 'application/json' })

t.test('a plain rabbitmq-client connection writes each publish of a tick on its own (what the counts below would see without coalescing)', async (t) => {
  const queue = `${uniquePrefix('coalesce-plain')}.q`
  const rabbit = new Connection({ url: AMQP_URL, connectionTimeout: 5000 })
  rabbit.on('error', () => {})
  await rabbit.queueDeclare({ queue, exclusive: true })
  const publisher = rabbit.createPublisher({ confirm: true })
  t.teardown(async () => { await publisher.close(); await rabbit.close() })
  await publisher.send(queue, 'warm-up')
  const writes = countWrites(socketOf(rabbit))
  await Promise.all(Array.from({ length: N }, async (_, i) => await publisher.send({ ...envelope(i), routingKey: queue }, Buffer.from('{}'))))
  t.ok(writes.count() >= N, `${writes.count()} writes for ${N} publishes`)
})

t.test('with coalescing, the publishes and the acks of one tick leave in one write, also after a reconnection', async (t) => {
  const prefix = uniquePrefix('coalesce')
  const tp = topology(prefix)
  const decl = declarations(tp)
  const amqp = openAmqpConnection({ url: AMQP_URL, name: `${prefix}:test`, declarations: decl, log: silent })
  const publisher = createCheckedPublisher(amqp.connection, decl, silent)
  let release: () => void = () => {}
  let gate = new Promise<void>((resolve) => { release = resolve })
  let handled = 0
  let inHandler = 0
  const consumer = amqp.connection.createConsumer({
    queue: tp.queues.pagos.queue,
    queueOptions: decl.queues.find((q) => q.queue === tp.queues.pagos.queue),
    qos: { prefetchCount: N },
    concurrency: N
  }, async () => {
    inHandler++
    await gate
    handled++
    return ConsumerStatus.ACK
  })
  consumer.on('error', () => {})
  t.teardown(async () => {
    release()
    await consumer.close()
    await publisher.close()
    await amqp.close()
    await deleteTopology(prefix)
  })
  await waitFor('broker connected', () => amqp.isConnected())

  const publishTick = async (from: number): Promise<number> => {
    const writes = countWrites(socketOf(amqp.connection))
    const sends = Array.from({ length: N }, async (_, i) => await publisher.send({ ...envelope(from + i), exchange: tp.exchange, routingKey: 'pago.solicitado' }, Buffer.from('{}')))
    t.ok(amqp.isConnected(), 'connected in the tick that wrote (the cork does not read as blocked)')
    await Promise.all(sends)
    return writes.count()
  }

  // The publisher's first send declares the topology: warm it up first.
  await publisher.send({ ...envelope(-1), exchange: tp.exchange, routingKey: 'pago.solicitado' }, Buffer.from('{}'))
  await waitFor('warm-up message handled', () => inHandler === 1)
  release()
  await waitFor('warm-up acked', () => handled === 1)
  gate = new Promise<void>((resolve) => { release = resolve })

  const publishWrites = await publishTick(0)
  t.ok(publishWrites <= 2, `${publishWrites} writes for ${N} publishes in one tick`)

  await waitFor('all deliveries in their handlers', () => inHandler === 1 + N)
  const acks = countWrites(socketOf(amqp.connection))
  release()
  await waitFor('all handled', () => handled === 1 + N)
  await new Promise((resolve) => setImmediate(resolve))
  t.ok(acks.count() <= 2, `${acks.count()} writes for ${N} acks settled in one tick`)

  // A new socket after a reconnection is coalesced too. The window counts only
  // the publishes: the consumer is set up again and the warm-up message is
  // handled before it, and deliveries wait at the gate during it.
  const before = socketOf(amqp.connection)
  const consuming = new Promise((resolve) => consumer.once('ready', resolve))
  before.destroy()
  await waitFor('reconnected', () => amqp.isConnected() && socketOf(amqp.connection) !== before)
  await consuming
  // The publisher's first send on the new connection declares the topology again (a round trip per declaration).
  await publisher.send({ ...envelope(-2), exchange: tp.exchange, routingKey: 'pago.solicitado' }, Buffer.from('{}'))
  await waitFor('warm-up handled', () => handled === 2 + N)
  gate = new Promise<void>((resolve) => { release = resolve })
  const again = await publishTick(N)
  t.ok(again <= 2, `${again} writes for ${N} publishes in one tick after reconnecting`)
})

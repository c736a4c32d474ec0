import type { Channel, Consumer } from 'rabbitmq-client'

/*
 * rabbitmq-client's Consumer acks each delivery on its own as soon as its
 * handler resolved. For a quorum queue every basic.ack frame is a settle
 * command of its own in the queue's Raft log; one `multiple` ack settles a
 * whole range with one. Measured on this machine's RabbitMQ 3.10 (20,000
 * persistent deliveries on a quorum queue, prefetch 100, RabbitMQ's CPU):
 * 19–21 µs per delivery acked one by one (in coalesced writes, see
 * amqp-write-coalescing.ts), 9.5–11 µs with one `multiple` ack per batch.
 *
 * The acks a consumer's channel receives during a tick are held until the
 * end of that tick (process.nextTick) and then sent as one `multiple` ack
 * for the highest of them that is safe, plus single acks for the rest. A
 * `multiple` ack for tag T settles every delivery up to T still unsettled on
 * the channel, so T must satisfy: every tag 1..T was acked or nacked by this
 * consumer already. The broker numbers deliveries 1, 2, 3, ... on each
 * channel, so this is tracked as `settledUpTo` (every tag up to it settled)
 * and the settled tags above it; a tag never seen (still queued in the
 * library, or in a handler) stops `settledUpTo` below it. T must also still
 * be unsettled at the broker (RabbitMQ closes the channel on an unknown
 * tag): it is the highest held ack not above `settledUpTo`. Nacks are sent
 * at once, as before. Before the channel closes (Consumer#close waits for
 * the handlers, then closes it) the held acks are sent first.
 *
 * The library has no hook for this: it reaches `Consumer#_ch`, a private
 * member of rabbitmq-client 5.0.8 (lib/Consumer.js; a new channel after each
 * reconnection, taken on every 'ready'), and replaces that channel's
 * basicAck, basicNack and close. If a release renames the member, acks are
 * sent one by one again (nothing else changes);
 * test/integration/amqp-ack-batching.test.ts fails then, as it counts the
 * ack frames.
 */

interface AckParams { deliveryTag?: number, multiple?: boolean }
interface NackParams extends AckParams { requeue?: boolean }

const patched = new WeakSet<Channel>()

/** Batches the acks of `channel` (one consumer's own channel): see above. */
export function batchChannelAcks (channel: Channel, onError: (err: unknown) => void): void {
  if (patched.has(channel)) return
  patched.add(channel)
  const ack = channel.basicAck.bind(channel) as (params: AckParams) => void
  const nack = channel.basicNack.bind(channel) as (params: NackParams) => void
  const close = channel.close.bind(channel)
  let settledUpTo = 0
  const settledAbove = new Set<number>()
  let held: number[] = []

  const settled = (tag: number): void => {
    if (tag !== settledUpTo + 1) {
      settledAbove.add(tag)
      return
    }
    settledUpTo = tag
    while (settledAbove.delete(settledUpTo + 1)) settledUpTo++
  }
  const flush = (): void => {
    if (held.length === 0) return
    const tags = held
    held = []
    let upTo = 0
    for (const tag of tags) if (tag <= settledUpTo && tag > upTo) upTo = tag
    try {
      if (upTo > 0) ack({ deliveryTag: upTo, multiple: true })
      for (const tag of tags) if (tag > upTo) ack({ deliveryTag: tag })
    } catch (err) {
      // The channel closed (the connection dropped): the broker redelivers them.
      onError(err)
    }
  }

  channel.basicAck = (params: AckParams) => {
    const tag = params.deliveryTag
    if (!channel.active || params.multiple === true || tag === undefined) {
      flush()
      ack(params)
      return
    }
    settled(tag)
    held.push(tag)
    if (held.length === 1) process.nextTick(flush)
  }
  channel.basicNack = (params: NackParams) => {
    const tag = params.deliveryTag
    if (tag !== undefined && params.multiple !== true) settled(tag)
    else flush()
    nack(params)
  }
  channel.close = async () => {
    flush()
    await close()
  }
}

/**
 * Batches the acks of `consumer` on every channel it opens. Returns false
 * (and does nothing) when the channel cannot be reached: see above.
 */
export function batchAcks (consumer: Consumer, onError: (err: unknown) => void): boolean {
  const channelOf = (): Channel | undefined => {
    const ch = (consumer as unknown as { _ch?: unknown })._ch
    if (ch === null || typeof ch !== 'object') return undefined
    const c = ch as Partial<Channel>
    return typeof c.basicAck === 'function' && typeof c.basicNack === 'function' && typeof c.close === 'function' && typeof c.active === 'boolean' ? ch as Channel : undefined
  }
  if (!('_ch' in consumer)) return false
  consumer.on('ready', () => {
    const ch = channelOf()
    if (ch !== undefined) batchChannelAcks(ch, onError)
  })
  return true
}

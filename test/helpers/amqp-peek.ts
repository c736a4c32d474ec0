import { Connection, type SyncMessage } from 'rabbitmq-client'
import { AMQP_URL } from '../../lib/launch/system.js'

/*
 * Direct access to the test run's broker objects, for fault tests that publish
 * poison or duplicates and look into queues. Only ever touch names of the
 * run's own prefix.
 */

/** A connection of the test's own; its errors are the test's to notice, not to crash on. */
export function connectBroker (): Connection {
  const rabbit = new Connection({ url: AMQP_URL, connectionTimeout: 5000 })
  rabbit.on('error', () => {})
  return rabbit
}

/** Ready messages in a queue (passive declare: never creates it). */
export async function queueDepth (rabbit: Connection, queue: string): Promise<number> {
  const ok = await rabbit.queueDeclare({ queue, passive: true })
  return ok.messageCount
}

/**
 * Every message waiting in `queue`, left in place: they are fetched without
 * an ack and the channel is closed, which returns them to the queue.
 */
export async function peekAll (rabbit: Connection, queue: string, max = 10_000): Promise<SyncMessage[]> {
  const ch = await rabbit.acquire()
  const seen: SyncMessage[] = []
  try {
    while (seen.length < max) {
      const m = await ch.basicGet({ queue })
      if (m === undefined) break
      seen.push(m)
    }
  } finally {
    await ch.close()
  }
  return seen
}

/** Every message waiting in `queue`, removed from it (acked one by one). */
export async function takeAll (rabbit: Connection, queue: string, max = 10_000): Promise<SyncMessage[]> {
  const ch = await rabbit.acquire()
  const taken: SyncMessage[] = []
  try {
    while (taken.length < max) {
      const m = await ch.basicGet({ queue })
      if (m === undefined) break
      ch.basicAck({ deliveryTag: m.deliveryTag })
      taken.push(m)
    }
  } finally {
    await ch.close()
  }
  return taken
}

/** A message body as the bytes a consumer would see again (rabbitmq-client parses JSON bodies). */
export function bodyBytes (m: { body: unknown }): Buffer {
  if (Buffer.isBuffer(m.body)) return m.body
  return Buffer.from(typeof m.body === 'string' ? m.body : JSON.stringify(m.body))
}

/**
 * Deletes queues a test declared for its run (e.g. a tap on the events
 * exchange), refusing any name outside the run prefix.
 */
export async function deleteRunQueues (prefix: string, queues: string[]): Promise<void> {
  const rabbit = connectBroker()
  try {
    for (const queue of queues) {
      if (!queue.startsWith(`${prefix}.`)) throw new Error(`refusing to delete ${queue}: not of run ${prefix}`)
      await rabbit.queueDelete({ queue }).catch(() => {})
    }
  } finally {
    await rabbit.close()
  }
}

import { randomUUID } from 'node:crypto'
import { Connection, ConsumerStatus } from 'rabbitmq-client'
import { percentile, sleep } from './stats.js'

export interface RawBrokerOptions {
  url: string
  prefix: string
  seconds: number
  prefetch: number
  /** Publishes kept unconfirmed at once (the relay sends a batch of OUTBOX_BATCH at once). */
  window: number
  /** Publishers wait while this many messages are published but not yet consumed: a steady loop, not a growing queue. */
  maxQueued: number
}

export interface RawBrokerFigures {
  /** Messages consumed (and acked) per second: one publish + one delivery each. */
  messagesPerSec: number
  publishedPerSec: number
  confirmP50Ms: number
  confirmP99Ms: number
  seconds: number
  settings: string
}

/**
 * The broker's own limit on this machine with the services' durability
 * settings: one connection (noDelay) that publishes to a durable topic
 * exchange bound to a durable quorum queue — persistent, mandatory, with
 * publisher confirms — and consumes that queue with manual acks, prefetch
 * and concurrency `prefetch`. A body of the size of a `pago.solicitado`.
 */
export async function measureRawBroker (o: RawBrokerOptions): Promise<RawBrokerFigures> {
  const exchange = `${o.prefix}.raw.events`
  const queue = `${o.prefix}.raw.q`
  const connection = new Connection({ url: o.url, noDelay: true, connectionName: `${o.prefix}:raw-bench`, connectionTimeout: 5000 })
  connection.on('error', () => {})
  const body = Buffer.from(JSON.stringify({
    tipo: 'pago.solicitado',
    version: 1,
    pagoId: randomUUID(),
    usuarioId: 123,
    montoCentimos: 100,
    concepto: null,
    solicitadoEn: new Date().toISOString()
  }))
  let consumed = 0
  let wakePublishers: (() => void) | undefined
  const consumer = connection.createConsumer({
    queue,
    queueOptions: { durable: true, arguments: { 'x-queue-type': 'quorum' } },
    qos: { prefetchCount: o.prefetch },
    concurrency: o.prefetch,
    exchanges: [{ exchange, type: 'topic', durable: true }],
    queueBindings: [{ exchange, queue, routingKey: 'pago.solicitado' }]
  }, async () => {
    consumed++
    wakePublishers?.()
    return ConsumerStatus.ACK
  })
  consumer.on('error', () => {})
  const publisher = connection.createPublisher({ confirm: true, maxAttempts: 1, exchanges: [{ exchange, type: 'topic', durable: true }] })
  await new Promise<void>((resolve) => consumer.once('ready', () => resolve()))

  let running = true
  let sent = 0
  let published = 0
  const confirms: number[] = []
  let consumerTurn: Promise<void> | undefined
  const consumerProgress = async (): Promise<void> => {
    consumerTurn ??= new Promise<void>((resolve) => { wakePublishers = () => { consumerTurn = undefined; wakePublishers = undefined; resolve() } })
    await consumerTurn
  }
  const lane = async (): Promise<void> => {
    while (running) {
      while (running && sent - consumed >= o.maxQueued) await consumerProgress()
      if (!running) break
      sent++
      const t = performance.now()
      await publisher.send({
        exchange,
        routingKey: 'pago.solicitado',
        durable: true,
        mandatory: true,
        messageId: randomUUID(),
        contentType: 'application/json',
        type: 'pago.solicitado'
      }, body)
      published++
      if (confirms.length < 200_000) confirms.push(performance.now() - t)
    }
  }
  const lanes = Array.from({ length: o.window }, lane)
  try {
    await sleep(1000) // warm-up
    const c0 = consumed
    const p0 = published
    confirms.length = 0
    const t0 = performance.now()
    await sleep(o.seconds * 1000)
    const wall = (performance.now() - t0) / 1000
    const c1 = consumed
    const p1 = published
    running = false
    wakePublishers?.()
    await Promise.allSettled(lanes)
    return {
      messagesPerSec: (c1 - c0) / wall,
      publishedPerSec: (p1 - p0) / wall,
      confirmP50Ms: percentile(confirms, 0.5),
      confirmP99Ms: percentile(confirms, 0.99),
      seconds: wall,
      settings: `one connection (noDelay), durable quorum queue, persistent + mandatory + confirms, up to ${o.window} publishes unconfirmed and ${o.maxQueued} messages not yet consumed, prefetch ${o.prefetch} (concurrency ${o.prefetch}), ${body.length}-byte body`
    }
  } finally {
    running = false
    wakePublishers?.()
    await Promise.allSettled(lanes)
    await publisher.close()
    await consumer.close()
    await connection.queueDelete({ queue }).catch(() => {})
    await connection.exchangeDelete({ exchange }).catch(() => {})
    await connection.close()
  }
}

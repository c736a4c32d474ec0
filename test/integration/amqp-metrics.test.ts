import { randomUUID } from 'node:crypto'
import t from 'tap'
import { MessageExamples } from '../../contracts/asyncapi.js'
import type { PagoSolicitadoV1 } from '../../contracts/messages.js'
import { createBroker } from '../../lib/messaging/broker.js'
import { createMetrics } from '../../lib/observability/metrics.js'
import { silent } from '../helpers/apps.js'
import { waitFor } from '../helpers/poll.js'
import { parseExposition, sampleValue, type Family } from '../helpers/prometheus.js'
import { AMQP_URL, deleteTopology, uniquePrefix } from '../../lib/launch/system.js'

// lib/messaging/broker.ts against the real RabbitMQ, counting through lib/observability/metrics.ts:
// a good message, one that fails once and is retried, one the handler
// refuses, one that fails its contract.
t.test('the broker counts published, consumed, retried and dead-lettered messages', async (t) => {
  const prefix = uniquePrefix('amqpmetrics')
  const metrics = createMetrics('pagos')
  const broker = createBroker({ url: AMQP_URL, prefix, prefetch: 10, maxAttempts: 3, retryDelayMs: 10, connectionName: 'test', logger: silent, metrics: metrics.broker })
  t.teardown(async () => {
    await broker.close()
    await deleteTopology(prefix)
  })
  const example = MessageExamples['pago.solicitado'] as Record<string, unknown>
  const failedOnce = new Set<string>()
  broker.consume('pagos', async (delivery) => {
    const message = delivery.message as PagoSolicitadoV1
    if (message.concepto === 'rechazar') return { deadLetter: 'rechazado por la prueba' }
    if (message.concepto === 'reintentar' && !failedOnce.has(message.pagoId)) {
      failedOnce.add(message.pagoId)
      throw new Error('fallo transitorio de prueba')
    }
    return { ack: true }
  })
  await waitFor('broker connected', () => broker.isConnected())
  const send = async (concepto: string): Promise<void> => {
    const pagoId = randomUUID()
    await broker.publishRaw('pago.solicitado', JSON.stringify({ ...example, pagoId, concepto }), { messageId: pagoId, correlationId: `metricas-${concepto}` })
  }
  await send('normal')
  await send('reintentar')
  await send('rechazar')
  await broker.publishRaw('pago.solicitado', '{"tipo":"pago.solicitado","version":99}', { messageId: randomUUID() })

  const counters = async (): Promise<Map<string, Family>> => parseExposition(await metrics.registry.metrics())
  // 4 deliveries + the retried one coming back.
  const m = await waitFor('five deliveries settled', async () => {
    const m = await counters()
    return sampleValue(m, 'messages_consumed_total', { message: 'pago.solicitado' }) === 5 && m
  })
  t.equal(sampleValue(m, 'messages_published_total', { message: 'pago.solicitado' }), 4)
  t.equal(sampleValue(m, 'messages_retried_total', { message: 'pago.solicitado' }), 1)
  t.equal(sampleValue(m, 'messages_dead_lettered_total', { message: 'pago.solicitado', cause: 'rejected' }), 1)
  t.equal(sampleValue(m, 'messages_dead_lettered_total', { message: 'pago.solicitado', cause: 'invalid' }), 1)
  t.equal(sampleValue(m, 'messages_dead_lettered_total', { message: 'pago.solicitado', cause: 'exhausted' }), undefined)
  t.equal(await broker.deadLetterCount('pagos'), 2, 'both in the dead-letter queue')
})

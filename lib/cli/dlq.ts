/*
 * Look at and replay dead letters.
 *
 *   npm run dlq -- list   [pagos|usuarios] [--limit N]
 *   npm run dlq -- replay [pagos|usuarios] [--limit N]
 *
 * `list` prints each message with its reason and leaves it in place.
 * `replay` sends each one back to its work queue (attempt count reset) with a
 * confirmed publish, then removes it from the dead-letter queue. Consumers are
 * idempotent by payment id, so replaying a message that already took effect
 * changes nothing. Reads AMQP_URL and AMQP_PREFIX like the services.
 */
import { Connection, type SyncMessage } from 'rabbitmq-client'
import { Subscriptions, topology, type ConsumerName } from '../../contracts/topology.js'
import { rawBody } from '../messaging/amqp-publisher.js'
import { ATTEMPTS_HEADER, REASON_HEADER } from '../messaging/delivery.js'
import { parseAmqpUrl } from '../messaging/amqp-url.js'
import { DEFAULT_AMQP_PREFIX, DEFAULT_AMQP_URL } from '../process/env-schema.js'

const [command, ...rest] = process.argv.slice(2)
const known = Object.keys(Subscriptions) as ConsumerName[]
const consumers = rest.filter((a): a is ConsumerName => known.includes(a as ConsumerName))
const limitAt = rest.indexOf('--limit')
const limit = limitAt >= 0 ? Number(rest[limitAt + 1]) : Infinity
if ((command !== 'list' && command !== 'replay') || !(limit > 0)) {
  console.error(`usage: dlq list|replay [${known.join('|')}] [--limit N]`)
  process.exit(2)
}

const t = topology(process.env.AMQP_PREFIX ?? DEFAULT_AMQP_PREFIX)
const rabbit = new Connection({ ...parseAmqpUrl(process.env.AMQP_URL ?? DEFAULT_AMQP_URL), connectionTimeout: 5000 })
rabbit.on('error', (err) => console.error(`broker: ${String(err)}`))
const ch = await rabbit.acquire()
await ch.confirmSelect()

function describe (m: SyncMessage): string {
  const body = rawBody(m).toString()
  return `${m.messageId ?? '-'}  ${String(m.headers?.[REASON_HEADER] ?? '(sin motivo)')}\n    ${body.slice(0, 300)}`
}

let total = 0
for (const consumer of consumers.length > 0 ? consumers : known) {
  const q = t.queues[consumer]
  let n = 0
  console.log(`# ${q.deadLetterQueue}`)
  // Only what is there now: a replayed message that fails again comes back
  // to this queue and must not be taken a second time.
  const depth = await rabbit.queueDeclare({ queue: q.deadLetterQueue, passive: true }).then((ok) => ok.messageCount, () => undefined)
  if (depth === undefined) {
    console.log(`    no such queue: has a service run with AMQP_PREFIX=${t.exchange.replace(/\.events$/, '')}?`)
    continue
  }
  while (n < Math.min(limit, depth)) {
    const m = await ch.basicGet({ queue: q.deadLetterQueue })
    if (m === undefined) break
    n++
    console.log(describe(m))
    if (command === 'replay') {
      const { [ATTEMPTS_HEADER]: _attempts, ...headers } = m.headers ?? {}
      await ch.basicPublish({
        exchange: '',
        routingKey: q.queue,
        durable: true,
        mandatory: true,
        messageId: m.messageId,
        correlationId: m.correlationId,
        type: m.type,
        contentType: m.contentType,
        headers: { ...headers, 'x-replayed-at': new Date().toISOString() }
      }, rawBody(m))
      ch.basicAck({ deliveryTag: m.deliveryTag })
    }
  }
  total += n
}
// Closing the channel returns every message `list` looked at to its queue.
await ch.close()
await rabbit.close()
console.log(`${total} message(s) ${command === 'replay' ? 'replayed' : 'listed'}`)

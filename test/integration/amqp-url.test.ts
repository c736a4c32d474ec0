import { Connection } from 'rabbitmq-client'
import t from 'tap'
import { parseAmqpUrl } from '../../lib/messaging/amqp-url.js'
import { AMQP_URL } from '../../lib/launch/system.js'

t.test('a single-host AMQP_URL is passed through untouched', async (t) => {
  for (const url of ['amqp://guest:guest@127.0.0.1:5672', 'amqps://u:p@rabbit.example/vh?heartbeat=10', 'amqp://u:p@[::1]:5672']) {
    t.same(parseAmqpUrl(url), { url })
  }
})

t.test('a comma-separated host list becomes rabbitmq-client\'s hosts, credentials and vhost kept', async (t) => {
  t.same(parseAmqpUrl('amqp://user:pa%2Css@rabbit1:5672,rabbit2:5673,rabbit3/pagos?heartbeat=10'), {
    url: 'amqp://user:pa%2Css@rabbit1:5672/pagos?heartbeat=10',
    hosts: ['rabbit1:5672', 'rabbit2:5673', 'rabbit3']
  })
  t.same(parseAmqpUrl('amqp://10.0.0.1,10.0.0.2'), { url: 'amqp://10.0.0.1', hosts: ['10.0.0.1', '10.0.0.2'] })
})

t.test('a bad host in a list names AMQP_URL and hides the password', async (t) => {
  t.throws(() => parseAmqpUrl('amqp://user:secreto@rabbit1:5672,,rabbit3'), { message: /^AMQP_URL "amqp:\/\/user:\*\*\*@rabbit1:5672,,rabbit3": each host/ })
  t.throws(() => parseAmqpUrl('amqp://u:p@rabbit1:56x,rabbit2'), { message: /AMQP_URL/ })
})

t.test('with a list, a node that is down is skipped for the next one', async (t) => {
  const real = new URL(AMQP_URL)
  const { url, hosts } = parseAmqpUrl(`amqp://${real.username}:${real.password}@127.0.0.1:1,${real.hostname}:${real.port || '5672'}`)
  const rabbit = new Connection({ url, hosts, retryLow: 50, retryHigh: 200, connectionTimeout: 2000 })
  let refused = 0
  rabbit.on('error', () => { refused++ })
  t.teardown(async () => { await rabbit.close() })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no connection within 10 s')), 10_000)
    rabbit.once('connection', () => { clearTimeout(timer); resolve() })
  })
  t.ok(rabbit.ready, 'connected through the second host')
  t.ok(refused >= 1, 'after the first one refused')
})

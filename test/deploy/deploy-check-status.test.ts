import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { Connection } from 'rabbitmq-client'
import t from 'tap'
import { topology } from '../../contracts/topology.js'
import { waitFor } from '../helpers/poll.js'
import { AMQP_URL, startSystem } from '../../lib/launch/system.js'

const run = promisify(execFile)
const SCRIPT = resolve(import.meta.dirname, '..', '..', 'deploy', 'check_status.sh')

async function checkStatus (env: NodeJS.ProcessEnv): Promise<{ code: number, output: string }> {
  const clean = { ...process.env }
  for (const name of ['USUARIOS_PORT', 'PAGOS_PORT', 'GATEWAY_PORT', 'HOST', 'GATEWAY_HOST', 'AMQP_PREFIX', 'PAGOS_CONFIG_DIR']) delete clean[name]
  return await run('bash', [SCRIPT], { env: { ...clean, ...env }, timeout: 120_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
    (err: { code: number, stdout: string, stderr: string }) => ({ code: err.code, output: err.stdout + err.stderr }))
}

t.test('check_status.sh reports each service, RabbitMQ and the depth of every queue of AMQP_PREFIX', async (t) => {
  const system = await startSystem('checkstatus')
  t.teardown(() => system.stop())
  const q = topology(system.prefix).queues

  // The settings of an installed system: the script reads them from PAGOS_CONFIG_DIR.
  const config = t.testdir()
  writeFileSync(join(config, 'common.env'), [
    `USUARIOS_PORT=${system.usuarios.port}`,
    `PAGOS_PORT=${system.pagos.port}`,
    `GATEWAY_PORT=${system.gateway.port}`,
    `AMQP_PREFIX=${system.prefix}`,
    'HOST=127.0.0.1',
    ''
  ].join('\n'))
  const env = { PAGOS_CONFIG_DIR: config, RUN_DIR: join(config, 'run') }

  const rabbit = new Connection({ url: AMQP_URL })
  rabbit.on('error', () => {})
  const publisher = rabbit.createPublisher({ confirm: true })
  t.teardown(async () => { await publisher.close(); await rabbit.close() })
  // Declared here too (same arguments as the services'), so the test does not depend on when they declare it.
  await rabbit.queueDeclare({ queue: q.pagos.deadLetterQueue, durable: true, arguments: { 'x-queue-type': 'quorum' } })
  for (const n of [1, 2]) {
    await publisher.send({ exchange: '', routingKey: q.pagos.deadLetterQueue, durable: true }, { prueba: n })
  }

  let last = ''
  const { code, output } = await waitFor('both dead letters to be counted', async () => {
    const result = await checkStatus(env)
    last = result.output
    return new RegExp(`${q.pagos.deadLetterQueue.replaceAll('.', '\\.')} +2 `).test(result.output) ? result : undefined
  }, { timeoutMs: 60_000, intervalMs: 500 }).catch((err) => { t.comment(last); throw err })

  t.equal(code, 0, 'exit 0: every service is up', { output })
  for (const [svc, port] of [['usuarios', system.usuarios.port], ['pagos', system.pagos.port], ['gateway', system.gateway.port]] as const) {
    t.match(output, new RegExp(`^${svc} +up +\\S+ +${port} `, 'm'), `${svc} is up on ${port}`)
  }
  t.match(output, /^rabbitmq +up /m)
  for (const queue of [q.pagos.queue, q.usuarios.queue]) {
    t.match(output, new RegExp(`^  ${queue.replaceAll('.', '\\.')} +0`, 'm'), `${queue} is listed, empty`)
  }
  t.match(output, new RegExp(`^  ${q.pagos.deadLetterQueue.replaceAll('.', '\\.')} +2 +\\(dead letters\\)$`, 'm'), 'the dead-letter queue shows its 2 messages')
  t.match(output, /WARNING: 2 dead-lettered message/)
  t.notMatch(output, /pagos\.pagos\.pago|test\.(?!checkstatus)/, 'only the queues of its own AMQP_PREFIX')
  t.notMatch(output, /guest/, 'no credentials')
})

t.test('with the services down it says so and exits 1', async (t) => {
  const { code, output } = await checkStatus({ USUARIOS_PORT: '1', PAGOS_PORT: '2', GATEWAY_PORT: '3', AMQP_PREFIX: 'test.nadie.aqui', RUN_DIR: t.testdir() })
  t.equal(code, 1)
  t.match(output, /^usuarios +down /m)
  t.match(output, /^gateway +down /m)
  t.match(output, /queues: no queue named test\.nadie\.aqui\.\* yet/)
})

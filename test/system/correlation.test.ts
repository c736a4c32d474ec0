import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { call } from '../helpers/http.js'
import { waitFor } from '../helpers/poll.js'
import { startSystem, type System } from '../../lib/launch/system.js'

// `grep <request id> logs/*.log` follows one payment through the three
// services: the gateway's x-request-id is the gateway's and usuarios'
// requestId, the outbox row's correlation id, pago.solicitado's AMQP
// correlationId, pagos' correlationId, pago.procesado's correlationId and
// usuarios' correlationId again.
let sys: System
// debug: the gateway logs a request the service answered below 400 at debug
// (the service logs it at info; lib/http/request-log.ts).
t.before(async () => { sys = await startSystem('correlation', { LOG_LEVEL: 'debug' }) })
t.teardown(async () => { await sys?.stop() })

type Line = Record<string, unknown>

function linesWith (service: string, requestId: string): Line[] {
  let text = ''
  try { text = readFileSync(join(sys.dir, 'logs', `${service}.log`), 'utf8') } catch { return [] }
  return text.split('\n').filter((l) => l.includes(requestId)).map((l) => JSON.parse(l) as Line)
}

t.test('one request id is in all three log files for one payment, from request to result', async (t) => {
  const requestId = `corr-${Date.now().toString(36)}`
  const r = await call('POST', `${sys.gateway.url}/usuarios/1/pagar`, { monto: 12.5, concepto: 'Correlación' }, { 'x-request-id': requestId })
  t.equal(r.status, 202)
  t.equal(r.headers.get('x-request-id'), requestId, 'the answer carries it')
  const pagoId: string = r.body.pago.id
  await waitFor('payment completed', async () => (await call('GET', `${sys.gateway.url}/usuarios/1/pagos/${pagoId}`)).body.estado === 'completado')

  const pagos = await call('GET', `${sys.pagos.url}/pagos/${pagoId}`)
  t.equal(pagos.body.correlationId, requestId, 'pago.solicitado arrived with it as AMQP correlationId')

  // Each service writes its file asynchronously: poll until the last line of each shows.
  const gateway = await waitFor('gateway.log', () => {
    const lines = linesWith('gateway', requestId)
    return lines.some((l) => l.msg === 'request completed') && lines
  })
  const usuarios = await waitFor('usuarios.log', () => {
    const lines = linesWith('usuarios', requestId)
    return lines.some((l) => l.msg === 'pago completado') && lines
  })
  const pagosLog = await waitFor('pagos.log', () => {
    const lines = linesWith('pagos', requestId)
    return lines.some((l) => l.msg === 'pago procesado') && lines
  })

  t.ok(gateway.every((l) => l.requestId === requestId), 'gateway: every line is the request\'s')
  t.equal(gateway.filter((l) => l.msg === 'request completed').length, 1, 'gateway: one line for the request')
  t.match(gateway.find((l) => l.msg === 'request completed'), { requestId, req: { method: 'POST', url: '/usuarios/1/pagar' }, res: { statusCode: 202 } }, 'gateway: the payment came in and was answered 202')

  t.equal(usuarios.filter((l) => l.msg === 'request completed').length, 1, 'usuarios: one line for the proxied request')
  t.match(usuarios.find((l) => l.msg === 'request completed'), { requestId, req: { method: 'POST', url: '/usuarios/1/pagar' }, res: { statusCode: 202 } }, 'usuarios: answered 202')
  t.match(usuarios.find((l) => l.msg === 'pago aceptado'), { requestId, pagoId }, 'usuarios: accepted under it')
  t.match(usuarios.find((l) => l.msg === 'pago completado'), { correlationId: requestId, pagoId, estado: 'completado' }, 'usuarios: pago.procesado came back with it')

  t.match(pagosLog.find((l) => l.msg === 'pago procesado'), { correlationId: requestId, pagoId, estado: 'completado' }, 'pagos: processed under it')
  t.ok(pagosLog.every((l) => l.service === 'pagos'), 'pagos.log holds pagos\' lines only')
})

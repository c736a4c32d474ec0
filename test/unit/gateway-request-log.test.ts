import t from 'tap'
import { deadUrl, echoUpstream, startGateway } from '../helpers/gateway-fixtures.js'

type Line = Record<string, any>
const linesOf = (log: string, requestId: string): Line[] =>
  log.split('\n').filter((l) => l.includes(requestId)).map((l) => JSON.parse(l) as Line).filter((l) => l.requestId === requestId)

t.test('at LOG_LEVEL=info the gateway logs what only it knows, one line per request', async (t) => {
  const usuarios = await echoUpstream(t, 'usuarios')
  const gw = await startGateway(t, { USUARIOS_URL: usuarios.url, PAGOS_URL: await deadUrl(), LOG_LEVEL: 'info' })
  t.equal((await fetch(`${gw.url}/usuarios/1`, { headers: { 'x-request-id': 'log-ok-1' } })).status, 200)
  t.equal((await fetch(`${gw.url}/pagos/status`, { headers: { 'x-request-id': 'log-503-1' } })).status, 503)
  const log = await gw.closeAndReadLog((text) => text.includes('"log-503-1"'))

  t.same(linesOf(log, 'log-ok-1'), [], 'a 200 from the service: usuarios logs it, the gateway does not')
  // reply-from adds its own warning with the cause (ECONNREFUSED) when a service fails.
  const down = linesOf(log, 'log-503-1').filter((l) => l.msg !== 'response errored')
  t.equal(down.length, 1, 'the 503 the gateway answered for pagos: one line')
  t.match(down[0], { level: 30, msg: 'request completed', requestId: 'log-503-1', req: { method: 'GET', url: '/pagos/status' }, res: { statusCode: 503 }, responseTime: Number })
  t.notOk(log.includes('"incoming request"'), 'no separate line when a request comes in')
})

t.test('at LOG_LEVEL=debug every request has its one line, with its id and status', async (t) => {
  const usuarios = await echoUpstream(t, 'usuarios')
  const gw = await startGateway(t, { USUARIOS_URL: usuarios.url, PAGOS_URL: await deadUrl(), LOG_LEVEL: 'debug' })
  t.equal((await fetch(`${gw.url}/usuarios/1`, { headers: { 'x-request-id': 'log-ok-2' } })).status, 200)
  const lines = linesOf(await gw.closeAndReadLog((text) => text.includes('"log-ok-2"')), 'log-ok-2')
  t.equal(lines.length, 1)
  t.match(lines[0], { level: 20, msg: 'request completed', requestId: 'log-ok-2', req: { method: 'GET', url: '/usuarios/1' }, res: { statusCode: 200 } })
})

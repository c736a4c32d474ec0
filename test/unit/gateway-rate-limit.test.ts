import { request } from 'node:http'
import t from 'tap'
import { loadGatewayConfig } from '../../gateway/config.js'
import { waitFor } from '../helpers/poll.js'
import { deadUrl, echoUpstream, startGateway } from '../helpers/gateway-fixtures.js'

const KEY_A = 'clave-de-prueba-A-0123456789abcdef'
const KEY_B = 'clave-de-prueba-B-0123456789abcdef'
const bearer = (key: string) => ({ authorization: `Bearer ${key}` })

async function statuses (url: string, count: number, headers: Record<string, string> = {}): Promise<number[]> {
  return await Promise.all(Array.from({ length: count }, async () => {
    const res = await fetch(url, { headers })
    await res.arrayBuffer()
    return res.status
  }))
}

t.test('a burst over the limit gets 429 JSON with Retry-After', async (t) => {
  const usuarios = await echoUpstream(t, 'usuarios')
  const gw = await startGateway(t, { USUARIOS_URL: usuarios.url, PAGOS_URL: await deadUrl(), RATE_LIMIT_MAX: '5', RATE_LIMIT_WINDOW_MS: '60000' })
  const codes = await statuses(`${gw.url}/usuarios/1`, 12)
  t.equal(codes.filter((c) => c === 200).length, 5, 'the first 5 pass')
  t.equal(codes.filter((c) => c === 429).length, 7, 'the rest are refused')
  t.equal(usuarios.hits.length, 5, 'a refused call never reaches the service')

  const res = await fetch(`${gw.url}/usuarios/1`)
  t.equal(res.status, 429)
  t.match(res.headers.get('content-type'), /^application\/json/)
  const retryAfter = Number(res.headers.get('retry-after'))
  t.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After: ${String(retryAfter)} s`)
  t.equal(res.headers.get('x-ratelimit-limit'), '5')
  t.equal(res.headers.get('x-ratelimit-remaining'), '0')
  t.same(await res.json(), { error: 'Demasiadas peticiones', code: 'GATEWAY_ERR_DEMASIADAS_PETICIONES' })

  const health = await fetch(`${gw.url}/health`)
  t.equal(health.status, 429, '/health is limited too (it calls both services)')
})

t.test('a client over the limit still gets /health/live and /metrics: probes and scrapes are never starved', async (t) => {
  const usuarios = await echoUpstream(t, 'usuarios')
  const pagos = await echoUpstream(t, 'pagos')
  const gw = await startGateway(t, { USUARIOS_URL: usuarios.url, PAGOS_URL: pagos.url, RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_MS: '60000' })
  t.same(await statuses(`${gw.url}/usuarios/1`, 5), [200, 200, 200, 429, 429], 'the burst uses up the limit')
  t.same(await statuses(`${gw.url}/pagos/status`, 1), [429], 'every API route is refused')
  t.same(await statuses(`${gw.url}/health`, 1), [429], '/health (which asks every service) stays limited')
  t.same(await statuses(`${gw.url}/health/live`, 20), Array(20).fill(200), 'the liveness probe answers')
  const scrape = await fetch(`${gw.url}/metrics`)
  t.equal(scrape.status, 200, 'Prometheus\' scrape answers')
  t.match(await scrape.text(), /^# HELP /m, 'with the exposition text')
  t.same(await statuses(`${gw.url}/metrics?x=1`, 1), [200], 'with a query string too')
  t.equal(usuarios.hits.length, 3, 'the refused calls never reached the service')
})

t.test('/health/live and /metrics do not count: a client that scrapes and probes keeps its whole limit', async (t) => {
  const usuarios = await echoUpstream(t, 'usuarios')
  const gw = await startGateway(t, { USUARIOS_URL: usuarios.url, PAGOS_URL: await deadUrl(), RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_MS: '60000' })
  await statuses(`${gw.url}/health/live`, 10)
  await statuses(`${gw.url}/metrics`, 5)
  t.same(await statuses(`${gw.url}/usuarios/1`, 4), [200, 200, 200, 429], 'the API still has all 3')
})

t.test('under the limit everything passes', async (t) => {
  const usuarios = await echoUpstream(t, 'usuarios')
  const pagos = await echoUpstream(t, 'pagos')
  const gw = await startGateway(t, { USUARIOS_URL: usuarios.url, PAGOS_URL: pagos.url, RATE_LIMIT_MAX: '60' })
  const codes = [...await statuses(`${gw.url}/usuarios/1`, 30), ...await statuses(`${gw.url}/pagos/status`, 29), ...await statuses(`${gw.url}/health`, 1)]
  t.same(codes, Array(60).fill(200))
  const res = await fetch(`${gw.url}/usuarios/1`)
  t.equal(res.status, 429, 'and the next one is over')
})

t.test('the limit is per client: each API key has its own, a request without one counts against its IP', async (t) => {
  const usuarios = await echoUpstream(t, 'usuarios')
  const gw = await startGateway(t, { USUARIOS_URL: usuarios.url, PAGOS_URL: await deadUrl(), GATEWAY_API_KEYS: `${KEY_A},${KEY_B}`, RATE_LIMIT_MAX: '3' })
  t.same(await statuses(`${gw.url}/usuarios/1`, 4, bearer(KEY_A)), [200, 200, 200, 429], 'key A uses up its limit')
  t.same(await statuses(`${gw.url}/usuarios/1`, 3, bearer(KEY_B)), [200, 200, 200], 'key B still has its own')
  t.same(await statuses(`${gw.url}/usuarios/1`, 3), [401, 401, 401], 'no key: the IP has its own (each a 401, counted)')
  t.same(await statuses(`${gw.url}/usuarios/1`, 2, bearer('clave-falsa-0123456789abcdef')), [429, 429], 'a wrong key counts against the IP: guessing keys is limited')
})

t.test('the window passes and the client may call again', async (t) => {
  const usuarios = await echoUpstream(t, 'usuarios')
  const gw = await startGateway(t, { USUARIOS_URL: usuarios.url, PAGOS_URL: await deadUrl(), RATE_LIMIT_MAX: '2', RATE_LIMIT_WINDOW_MS: '1000' })
  t.same(await statuses(`${gw.url}/usuarios/1`, 3), [200, 200, 429])
  await waitFor('the window to reset', async () => (await statuses(`${gw.url}/usuarios/1`, 1))[0] === 200, { timeoutMs: 5_000, intervalMs: 200 })
  t.pass('allowed again after the window')
})

t.test('RATE_LIMIT_MAX=0 turns the limit off', async (t) => {
  const usuarios = await echoUpstream(t, 'usuarios')
  const gw = await startGateway(t, { USUARIOS_URL: usuarios.url, PAGOS_URL: await deadUrl(), RATE_LIMIT_MAX: '0' })
  const codes = await statuses(`${gw.url}/usuarios/1`, 200)
  t.equal(codes.filter((c) => c === 200).length, 200)
})

t.test('config: defaults and bad values', async (t) => {
  t.match(loadGatewayConfig({}), { RATE_LIMIT_MAX: 6000, RATE_LIMIT_WINDOW_MS: 60_000, GATEWAY_BODY_LIMIT: 65_536 })
  t.throws(() => loadGatewayConfig({ RATE_LIMIT_MAX: '-1' }), { message: /RATE_LIMIT_MAX/ })
  t.throws(() => loadGatewayConfig({ RATE_LIMIT_MAX: 'mucho' }), { message: /RATE_LIMIT_MAX/ })
  t.throws(() => loadGatewayConfig({ RATE_LIMIT_WINDOW_MS: '10' }), { message: /RATE_LIMIT_WINDOW_MS/ })
  t.throws(() => loadGatewayConfig({ GATEWAY_BODY_LIMIT: '1.5' }), { message: /GATEWAY_BODY_LIMIT/ })
})

/** A POST with an exact Content-Length, sent as is. */
async function post (url: string, body: Buffer, headers: Record<string, string> = {}): Promise<{ status: number, body: any }> {
  return await new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(body.length), ...headers } }, (res) => {
      let text = ''
      res.on('data', (d) => { text += String(d) })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }))
    })
    // The gateway may answer and close before it has read the whole body.
    req.on('error', reject)
    req.end(body)
  })
}

t.test('a body over GATEWAY_BODY_LIMIT is a 413 JSON and never reaches the service', async (t) => {
  const usuarios = await echoUpstream(t, 'usuarios')
  const gw = await startGateway(t, { USUARIOS_URL: usuarios.url, PAGOS_URL: await deadUrl(), GATEWAY_BODY_LIMIT: '2048' })
  const small = await post(`${gw.url}/usuarios/1/pagar`, Buffer.from(JSON.stringify({ monto: 5, concepto: 'x'.repeat(1500) })))
  t.equal(small.status, 200, 'under the limit it is forwarded')
  const big = await post(`${gw.url}/usuarios/1/pagar`, Buffer.from(JSON.stringify({ monto: 5, concepto: 'x'.repeat(3000) })))
  t.equal(big.status, 413)
  t.same(big.body, { error: 'Cuerpo de la petición demasiado grande', code: 'GATEWAY_ERR_CUERPO_DEMASIADO_GRANDE' })
  t.equal(usuarios.hits.length, 1)
})

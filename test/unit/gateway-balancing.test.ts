import Fastify, { type FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { createBalancer, parseUpstreamList } from '../../gateway/balancer.js'
import { loadGatewayConfig } from '../../gateway/config.js'
import { startGateway } from '../helpers/gateway-fixtures.js'
import { waitFor } from '../helpers/poll.js'

/** One instance of a service that can be stopped and started again on its port; counts what reached it. */
async function instance (t: Test, servicio: string) {
  let app: FastifyInstance | undefined
  let port = 0
  const hits: Array<{ method: string, url: string, body: string | null }> = []
  const start = async (): Promise<void> => {
    const a = Fastify()
    a.removeAllContentTypeParsers()
    a.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body))
    a.get('/health/ready', async () => ({ status: 'ok', servicio, port }))
    a.all('/*', async (req) => {
      const hit = { method: req.method, url: req.url, body: typeof req.body === 'string' ? req.body : null }
      hits.push(hit)
      return { servicio, port, ...hit }
    })
    await a.listen({ port, host: '127.0.0.1' })
    const address = a.server.address()
    if (address === null || typeof address === 'string') throw new Error('no port')
    port = address.port
    app = a
  }
  const stop = async (): Promise<void> => { await app?.close(); app = undefined }
  await start()
  t.teardown(stop)
  return { get url () { return `http://127.0.0.1:${port}` }, hits, start, stop }
}

/** The gateway on a free port with its rate limit off (test/helpers/gateway-fixtures.ts); its URL. */
async function gateway (t: Test, env: Record<string, string>): Promise<string> {
  return (await startGateway(t, { RATE_LIMIT_MAX: '0', ...env })).url
}

async function pay (gw: string, monto: number): Promise<Response> {
  return await fetch(`${gw}/usuarios/1/pagar`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ monto }), signal: AbortSignal.timeout(5_000) })
}

t.test('requests are spread over the instances in turn', async (t) => {
  const [a, b] = [await instance(t, 'usuarios'), await instance(t, 'usuarios')]
  const gw = await gateway(t, { USUARIOS_URL: `${a.url},${b.url}`, PAGOS_URL: a.url })
  for (let i = 0; i < 10; i++) t.equal((await fetch(`${gw}/usuarios/${i}`)).status, 200)
  for (let i = 0; i < 10; i++) t.equal((await pay(gw, i + 1)).status, 200)
  t.equal(a.hits.length, 10, 'half to the first')
  t.equal(b.hits.length, 10, 'half to the second')
  t.same([...a.hits, ...b.hits].filter((h) => h.method === 'POST').map((h) => JSON.parse(h.body!).monto).sort((x, y) => x - y), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'every body arrived once')
})

t.test('with one instance stopped, requests still succeed through the other', async (t) => {
  const [a, b] = [await instance(t, 'usuarios'), await instance(t, 'usuarios')]
  const gw = await gateway(t, { USUARIOS_URL: `${a.url},${b.url}`, PAGOS_URL: b.url, UPSTREAM_COOLDOWN_MS: '60000' })
  await a.stop()

  t.test('GET and POST with a body: the refused connection is retried on the other instance', async (t) => {
    for (let i = 0; i < 10; i++) {
      const res = await pay(gw, 10 + i)
      t.equal(res.status, 200, `payment ${i}`)
      t.match(await res.json(), { method: 'POST', body: JSON.stringify({ monto: 10 + i }) })
      t.equal((await fetch(`${gw}/usuarios/1`)).status, 200)
    }
    t.equal(b.hits.length, 20, 'all of them reached the running instance, once each')
  })

  t.test('/health shows each instance; the service is up while one instance is', async (t) => {
    const res = await fetch(`${gw}/health`)
    t.equal(res.status, 200)
    const body: any = await res.json()
    t.match(body.servicios.usuarios, {
      status: 'ok',
      instancias: [
        { instancia: 1, status: 'caido', error: /^Servicio usuarios no disponible/, disponible: false },
        { instancia: 2, status: 'ok', disponible: true }
      ]
    })
  })

  t.test('the stopped instance is skipped during its cool-down: no request is sent its way', async (t) => {
    const before = ((await (await fetch(`${gw}/health`)).json()) as any).servicios.usuarios.instancias[0].peticiones
    for (let i = 0; i < 10; i++) t.equal((await fetch(`${gw}/usuarios/${i}`)).status, 200)
    const after = ((await (await fetch(`${gw}/health`)).json()) as any).servicios.usuarios.instancias[0].peticiones
    t.equal(after, before, 'none picked it')
  })
})

t.test('an instance that comes back gets traffic again after the cool-down', async (t) => {
  const [a, b] = [await instance(t, 'usuarios'), await instance(t, 'usuarios')]
  const gw = await gateway(t, { USUARIOS_URL: `${a.url},${b.url}`, PAGOS_URL: b.url, UPSTREAM_COOLDOWN_MS: '200' })
  await a.stop()
  for (let i = 0; i < 4; i++) t.equal((await fetch(`${gw}/usuarios/${i}`)).status, 200)
  await a.start()
  await waitFor('the restarted instance answers a request again', async () => {
    t.equal((await fetch(`${gw}/usuarios/x`)).status, 200)
    return a.hits.length > 0
  }, { timeoutMs: 10_000 })
  const before = a.hits.length
  for (let i = 0; i < 10; i++) await fetch(`${gw}/usuarios/${i}`)
  t.ok(a.hits.length - before >= 4, `back in the rotation (${a.hits.length - before} of 10)`)
})

t.test('with every instance stopped, the answer is the usual 503 JSON, at once', async (t) => {
  const [a, b] = [await instance(t, 'pagos'), await instance(t, 'pagos')]
  const gw = await gateway(t, { USUARIOS_URL: a.url, PAGOS_URL: `${a.url},${b.url}` })
  await a.stop()
  await b.stop()
  for (const method of ['GET', 'POST']) {
    const res = await fetch(`${gw}/pagos/status`, { method, signal: AbortSignal.timeout(5_000) })
    t.equal(res.status, 503, method)
    t.same(await res.json(), { error: 'Servicio pagos no disponible', code: 'GATEWAY_ERR_SERVICIO_NO_DISPONIBLE' })
  }
  const health = await fetch(`${gw}/health`)
  t.equal(health.status, 503)
  t.match(((await health.json()) as any).servicios.pagos, { status: 'caido', instancias: [{ status: 'caido' }, { status: 'caido' }] })
})

t.test('config and balancer', async (t) => {
  t.test('USUARIOS_URL and PAGOS_URL take a comma-separated list', async (t) => {
    const c = loadGatewayConfig({ USUARIOS_URL: 'http://10.0.0.1:5004, http://10.0.0.2:5004/', PAGOS_URL: 'http://p1:5001,http://p2:5001' })
    t.same(parseUpstreamList(c.USUARIOS_URL), ['http://10.0.0.1:5004', 'http://10.0.0.2:5004'])
    t.same(parseUpstreamList(c.PAGOS_URL), ['http://p1:5001', 'http://p2:5001'])
    t.equal(c.UPSTREAM_COOLDOWN_MS, 5_000, 'cool-down default')
  })

  t.test('a bad element names its variable', async (t) => {
    t.throws(() => loadGatewayConfig({ USUARIOS_URL: 'http://a:1,localhost:5004' }), { message: /USUARIOS_URL/ })
    t.throws(() => loadGatewayConfig({ PAGOS_URL: 'http://a:1,' }), { message: /PAGOS_URL/ })
    t.throws(() => loadGatewayConfig({ UPSTREAM_COOLDOWN_MS: '5' }), { message: /UPSTREAM_COOLDOWN_MS/ })
  })

  t.test('round robin skips a cooling instance; when all cool, the first back is tried', async (t) => {
    let now = 1_000
    const lb = createBalancer(['http://a:1', 'http://b:1', 'http://c:1'], 100, () => now)
    const order = (n: number): string[] => Array.from({ length: n }, () => lb.pick()!.url.slice(7, 8))
    t.same(order(6), ['a', 'b', 'c', 'a', 'b', 'c'])
    lb.markDown('http://b:1')
    t.same(order(4), ['a', 'c', 'a', 'c'])
    now += 100
    t.same(order(3), ['a', 'b', 'c'], 'back after the cool-down')
    lb.markDown('http://a:1')
    now += 10
    lb.markDown('http://b:1')
    lb.markDown('http://c:1')
    t.equal(lb.pick()!.url, 'http://a:1', 'all cooling: the one that comes back first')
    t.equal(lb.pick(new Set(['http://a:1']))!.url, 'http://b:1', 'excluding what was tried')
    t.equal(lb.pick(new Set(['http://a:1', 'http://b:1', 'http://c:1'])), undefined, 'nothing left to try')
    lb.markUp('http://c:1')
    t.equal(lb.pick()!.url, 'http://c:1', 'an answer puts it back at once')
  })
})

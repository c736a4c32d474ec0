import { createServer, type ServerResponse } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { waitFor } from '../helpers/poll.js'
import { deadUrl, startGateway } from '../helpers/gateway-fixtures.js'

/** The gateway's connections to one instance (gateway/proxy.ts). */
const POOL = 128

/**
 * A usuarios stand-in that records every request's x-request-id and keeps
 * `/usuarios/ocupada` answers open (headers sent, a chunk every 100 ms, so
 * no timeout fires) until released: that fills the gateway's pool.
 */
async function busyUpstream (t: Test): Promise<{ url: string, ids: string[], held: () => number, release: () => void }> {
  const ids: string[] = []
  const held = new Set<ServerResponse>()
  const server = createServer((req, res) => {
    ids.push(String(req.headers['x-request-id']))
    req.resume()
    if (req.url !== '/usuarios/ocupada') {
      res.writeHead(req.method === 'POST' ? 202 : 200, { 'content-type': 'application/json' }).end('{}')
      return
    }
    res.writeHead(200, { 'content-type': 'text/plain' })
    const tick = setInterval(() => res.write('.'), 100)
    res.once('close', () => clearInterval(tick))
    held.add(res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { for (const res of held) res.destroy(); server.closeAllConnections(); server.close() })
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    ids,
    held: () => held.size,
    release: () => { for (const res of held) res.end(); held.clear() }
  }
}

/** Takes every connection the gateway has to usuarios; resolves once all are busy. */
async function fillPool (gateway: string, upstream: Awaited<ReturnType<typeof busyUpstream>>): Promise<Array<Promise<number>>> {
  const answers = Array.from({ length: POOL }, async (_, i) => {
    const res = await fetch(`${gateway}/usuarios/ocupada`, { headers: { 'x-request-id': `ocupada-${i}` } })
    await res.text()
    return res.status
  })
  await waitFor('every connection busy', () => upstream.held() === POOL)
  return answers
}

/**
 * `curl -X POST .../pagar` (no body: it pays the default amount), from a
 * client that hangs up when the returned function is called. A request with
 * a body needs no help: its body stream fails when the client goes, and
 * undici then does not send it.
 */
function payAndHangUp (gateway: string, requestId: string): () => void {
  const { hostname, port } = new URL(gateway)
  const socket = connect(Number(port), hostname)
  socket.on('error', () => {})
  socket.write(`POST /usuarios/1/pagar HTTP/1.1\r\nHost: ${hostname}\r\nx-request-id: ${requestId}\r\n\r\n`)
  return () => socket.destroy()
}

t.test('a payment whose client hung up while it waited for a connection is never sent', async (t) => {
  const usuarios = await busyUpstream(t)
  const gw = await startGateway(t, { USUARIOS_URL: usuarios.url, PAGOS_URL: await deadUrl() })
  const busy = await fillPool(gw.url, usuarios)

  const hangUp = payAndHangUp(gw.url, 'abandonada')
  // Waited for, not slept on: the gateway holds the payment's connection
  // (its request, written at once, read with it), then has seen it go,
  // before the pool frees up (a fixed 200 ms / 400 ms could race on a busy machine).
  await waitFor('the gateway to hold the payment\'s connection', async () => await gw.openConnections() === POOL + 1)
  hangUp()
  await waitFor('the gateway to see the client go', async () => await gw.openConnections() === POOL)
  usuarios.release()
  t.same(new Set(await Promise.all(busy)), new Set([200]))
  // Queued after it: once this one is answered, the one before had its turn.
  const after = await fetch(`${gw.url}/usuarios/1/pagar`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'despues' }, body: '{"monto":1}' })
  t.equal(after.status, 202, 'the pool still works')
  t.ok(usuarios.ids.includes('despues'))
  t.notOk(usuarios.ids.includes('abandonada'), 'usuarios never saw the abandoned payment')
})

t.test('a request that waits UPSTREAM_TIMEOUT_MS for a connection is a 504 and is never sent', async (t) => {
  const usuarios = await busyUpstream(t)
  const gw = await startGateway(t, { USUARIOS_URL: usuarios.url, PAGOS_URL: await deadUrl(), UPSTREAM_TIMEOUT_MS: '1000' })
  const busy = await fillPool(gw.url, usuarios)

  const started = Date.now()
  const res = await fetch(`${gw.url}/usuarios/1/pagar`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'en-cola' }, body: '{"monto":1}', signal: AbortSignal.timeout(5_000) })
    .catch((err: Error) => err)
  t.equal(res instanceof Response && res.status, 504, 'a 504, not a wait without end')
  if (res instanceof Response) t.same(await res.json(), { error: 'Servicio usuarios no respondió a tiempo', code: 'GATEWAY_ERR_TIEMPO_AGOTADO' })
  t.ok(Date.now() - started >= 900, 'after UPSTREAM_TIMEOUT_MS')

  usuarios.release()
  await Promise.all(busy)
  const after = await fetch(`${gw.url}/usuarios/1`, { headers: { 'x-request-id': 'despues' } })
  t.equal(after.status, 200, 'the pool still works')
  t.notOk(usuarios.ids.includes('en-cola'), 'usuarios never saw the payment answered 504')
})

import { createServer, type ServerResponse } from 'node:http'
import { connect } from 'node:net'
import { once } from 'node:events'
import t, { type Test } from 'tap'
import { SMALL_ANSWER_BYTES } from '../../gateway/upstream-answer.js'
import { deadUrl, startGateway } from '../helpers/gateway-fixtures.js'

/*
 * How a service's answer comes back through the gateway: a small one is read
 * whole and sent at once, a large one streamed; either way the client gets
 * the service's status, headers and bytes. A small answer the service breaks
 * off, or leaves hanging, mid-body is a 502 or 504 JSON, never a truncated body.
 */

const LARGE = Buffer.alloc(SMALL_ANSWER_BYTES * 3 + 17, 'abcdefgh')

const HUGE = 64 * 1024 * 1024

/**
 * A service answering by path: /small, /large, /chunked, /empty, /broken
 * (half its body, then a reset), /stalled (half, then nothing) and /huge
 * (HUGE bytes, written as fast as they are taken; `hugeClosed` settles when
 * that answer's connection closes: true if before its end).
 */
async function rawUpstream (t: Test, hugeClosed?: (early: boolean) => void): Promise<string> {
  const server = createServer((req, res: ServerResponse) => {
    if (req.url === '/usuarios/huge') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': HUGE })
      const chunk = Buffer.alloc(64 * 1024, 'x')
      let sent = 0
      const write = (): void => {
        while (sent < HUGE) {
          sent += chunk.length
          if (!res.write(chunk)) { res.once('drain', write); return }
        }
        res.end()
      }
      res.on('close', () => { hugeClosed?.(!res.writableFinished) })
      write()
      return
    }
    const small = JSON.stringify({ id: 1, nombre: 'Ana', path: req.url })
    const path = (req.url ?? '').replace(/^\/usuarios/, '')
    if (path === '/small') {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(small), 'x-servicio': 'usuarios' })
      res.end(small)
    } else if (path === '/large') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': LARGE.length })
      res.end(LARGE)
    } else if (path === '/chunked') {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.write('uno,')
      setTimeout(() => res.end('dos'), 20)
    } else if (path === '/empty') {
      res.writeHead(204)
      res.end()
    } else if (path === '/broken' || path === '/stalled') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 1000 })
      res.write('{"id": 1, "nombre": "A')
      if (path === '/broken') setTimeout(() => res.socket?.destroy(), 20)
    } else {
      res.writeHead(404)
      res.end()
    }
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => { server.closeAllConnections(); server.close() })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return `http://127.0.0.1:${address.port}`
}

t.test('answers come back whole, small or large', async (t) => {
  const gw = await startGateway(t, { USUARIOS_URL: await rawUpstream(t), PAGOS_URL: await deadUrl() })

  const small = await fetch(`${gw.url}/usuarios/small`)
  t.equal(small.status, 200)
  t.equal(small.headers.get('x-servicio'), 'usuarios', 'the service\'s headers')
  t.match(small.headers.get('content-type'), /^application\/json/)
  t.ok(small.headers.get('x-request-id'), 'and the request id')
  t.same(await small.json(), { id: 1, nombre: 'Ana', path: '/usuarios/small' })

  const large = await fetch(`${gw.url}/usuarios/large`)
  t.equal(large.status, 200)
  t.equal(large.headers.get('content-length'), String(LARGE.length))
  t.ok(Buffer.from(await large.arrayBuffer()).equals(LARGE), `${LARGE.length} bytes, streamed`)

  const chunked = await fetch(`${gw.url}/usuarios/chunked`)
  t.equal(await chunked.text(), 'uno,dos', 'an answer of unknown length')

  const head = await fetch(`${gw.url}/usuarios/small`, { method: 'HEAD' })
  t.equal(head.status, 200, 'HEAD')
  t.equal(await head.text(), '')

  const empty = await fetch(`${gw.url}/usuarios/empty`)
  t.equal(empty.status, 204, '204')
  t.equal(await empty.text(), '')
})

t.test('a small answer broken off mid-body is a 502 JSON', async (t) => {
  const gw = await startGateway(t, { USUARIOS_URL: await rawUpstream(t), PAGOS_URL: await deadUrl() })
  const res = await fetch(`${gw.url}/usuarios/broken`, { signal: AbortSignal.timeout(5_000) })
  t.equal(res.status, 502)
  t.match(res.headers.get('content-type'), /^application\/json/)
  t.ok(res.headers.get('x-request-id'), 'the request id stays')
  t.same(await res.json(), { error: 'Servicio usuarios respondió de forma inválida', code: 'GATEWAY_ERR_RESPUESTA_INVALIDA' })
  const next = await fetch(`${gw.url}/usuarios/small`)
  t.equal(next.status, 200, 'the next request is served')
})

t.test('a small answer left hanging mid-body is a 504 JSON after UPSTREAM_TIMEOUT_MS', async (t) => {
  const gw = await startGateway(t, { USUARIOS_URL: await rawUpstream(t), PAGOS_URL: await deadUrl(), UPSTREAM_TIMEOUT_MS: '300' })
  const started = performance.now()
  const res = await fetch(`${gw.url}/usuarios/stalled`, { signal: AbortSignal.timeout(5_000) })
  const elapsed = performance.now() - started
  t.equal(res.status, 504)
  t.same(await res.json(), { error: 'Servicio usuarios no respondió a tiempo', code: 'GATEWAY_ERR_TIEMPO_AGOTADO' })
  // Never before the timeout; the client's own 5 s abort bounds it from above.
  t.ok(elapsed >= 250, `answered after ${Math.round(elapsed)} ms`)
})

t.test('a client that hangs up during a large streamed answer: the service\'s answer is stopped, the gateway carries on', async (t) => {
  let settle: (early: boolean) => void = () => {}
  const closed = new Promise<boolean>((resolve) => { settle = resolve })
  const gw = await startGateway(t, { USUARIOS_URL: await rawUpstream(t, settle), PAGOS_URL: await deadUrl() })
  const { port } = new URL(gw.url)
  const client = connect(Number(port), '127.0.0.1')
  client.write('GET /usuarios/huge HTTP/1.1\r\nHost: gw\r\n\r\n')
  // A slow reader: the first bytes, then it goes away with most of the answer unread.
  const [first] = await once(client, 'data') as [Buffer]
  t.match(first.toString('latin1'), /^HTTP\/1\.1 200 /, 'the answer had started')
  client.destroy()
  const early = await Promise.race([closed, new Promise<string>((resolve) => setTimeout(() => resolve('still sending'), 5_000).unref())])
  t.equal(early, true, `the service's connection closed before its ${HUGE} bytes were taken`)
  const next = await fetch(`${gw.url}/usuarios/small`)
  t.equal(next.status, 200, 'the next request is served')
})

import { createServer } from 'node:http'
import t, { type Test } from 'tap'
import { usuariosApp } from '../helpers/apps.js'
import { echoUpstream, startGateway } from '../helpers/gateway-fixtures.js'
import { parseAnswer, rawClient } from '../helpers/raw-http.js'
import { waitFor } from '../helpers/poll.js'

/*
 * The gateway's client side, over raw sockets: what a slow, stalled or odd
 * client does to it, and what reaches the services. Timeouts are set small
 * here; every wait is bounded.
 */

/** The gateway's connections to one instance (gateway/proxy.ts). */
const POOL = 128

const host = (base: string): string => new URL(base).host

async function setup (t: Test, env: Record<string, string> = {}) {
  const usuarios = await echoUpstream(t, 'usuarios')
  const pagos = await echoUpstream(t, 'pagos')
  const gw = await startGateway(t, { USUARIOS_URL: usuarios.url, PAGOS_URL: pagos.url, ...env })
  return { usuarios, pagos, gw }
}

/** A POST whose body stops short of its Content-Length: headers and `sent` of `declared` bytes. */
function stalledPost (base: string, path: string, declared: number, sent: string): string {
  return `POST ${path} HTTP/1.1\r\nHost: ${host(base)}\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\n\r\n${sent}`
}

t.test('a body that stops short of its Content-Length', async (t) => {
  t.test('is answered 408 JSON after GATEWAY_BODY_TIMEOUT_MS, the connection closed, logged, and no service asked', async (t) => {
    const { usuarios, gw } = await setup(t, { GATEWAY_BODY_TIMEOUT_MS: '300' })
    const client = await rawClient(t, gw.url)
    const started = performance.now()
    client.write(stalledPost(gw.url, '/usuarios/1/pagar', 20, '{"monto":'))
    // Not before the timeout; waitClosed's 5 s bounds it from above (no
    // tighter bound: a busy CI machine is 3 × slower on some days).
    const ms = await client.waitClosed(5_000, started)
    t.ok(ms >= 250, `closed after ${Math.round(ms)} ms`)
    const answer = parseAnswer(client.received())
    t.equal(answer.status, 408)
    t.match(answer.headers['content-type'], /^application\/json/)
    t.equal(answer.headers.connection, 'close')
    t.same(JSON.parse(answer.body), { error: 'El cuerpo de la petición no llegó a tiempo', code: 'GATEWAY_ERR_CUERPO_LENTO' })
    t.same(usuarios.hits, [], 'usuarios never saw it')
    await waitFor('the gateway to log it', () => /request body not read.*GATEWAY_ERR_CUERPO_LENTO|GATEWAY_ERR_CUERPO_LENTO.*request body not read/.test(gw.readLog()))
    t.pass('the gateway logged it')
  })

  t.test(`${POOL + 2} of them (more than the pool) hold no connection to the service: others are served at once`, async (t) => {
    // Default body timeout (60 s): the stalled requests stay stalled for the whole test.
    const { usuarios, gw } = await setup(t, { UPSTREAM_TIMEOUT_MS: '2000' })
    const clients = await Promise.all(Array.from({ length: POOL + 2 }, async () => await rawClient(t, gw.url)))
    for (const c of clients) c.write(stalledPost(gw.url, '/usuarios/1/pagar', 100, '{"monto":1'))
    await waitFor('the gateway to hold every stalled connection', async () => await gw.openConnections() >= POOL + 2)
    // Answered after the gateway has read what the stalled clients sent before it.
    t.equal((await fetch(`${gw.url}/health/live`)).status, 200)
    const started = performance.now()
    const res = await fetch(`${gw.url}/usuarios/1`, { signal: AbortSignal.timeout(5_000) })
    // Waiting for a connection the stalled requests held would be a 504 after UPSTREAM_TIMEOUT_MS.
    t.equal(res.status, 200, `GET /usuarios/1 through the gateway still answers (in ${Math.round(performance.now() - started)} ms)`)
    const pay = await fetch(`${gw.url}/usuarios/1/pagar`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"monto":1}', signal: AbortSignal.timeout(5_000) })
    t.equal(pay.status, 200, 'and so does a whole POST')
    t.same(usuarios.hits.map((h) => `${h.method} ${h.url}`), ['GET /usuarios/1', 'POST /usuarios/1/pagar'], 'no stalled request reached usuarios')
    t.notOk(clients.some((c) => c.closed()), 'the stalled clients are still waiting (their timeout is 60 s)')
  })

  t.test('a client that hangs up mid-body: nothing is sent, the gateway carries on', async (t) => {
    const { usuarios, gw } = await setup(t)
    const client = await rawClient(t, gw.url)
    client.write(stalledPost(gw.url, '/usuarios/1/pagar', 50, '{"monto":'))
    await waitFor('the gateway to hold the connection', async () => await gw.openConnections() >= 1)
    t.equal((await fetch(`${gw.url}/health/live`)).status, 200)
    client.socket.destroy()
    await waitFor('the gateway to see the client go', async () => await gw.openConnections() <= 1)
    t.equal((await fetch(`${gw.url}/pagos/status`)).status, 200)
    t.same(usuarios.hits, [])
    await waitFor('the gateway to log an incomplete body', () => gw.readLog().includes('"code":"GATEWAY_ERR_CUERPO_INCOMPLETO"'))
    t.pass('logged as an incomplete body')
  })
})

t.test('slow headers are answered 408 JSON after GATEWAY_HEADERS_TIMEOUT_MS, and closed', async (t) => {
  const { usuarios, gw } = await setup(t, { GATEWAY_HEADERS_TIMEOUT_MS: '300' })
  const client = await rawClient(t, gw.url)
  const started = performance.now()
  client.write(`GET /usuarios/1 HTTP/1.1\r\nHost: ${host(gw.url)}\r\nX-Lento: `)
  const ms = await client.waitClosed(5_000, started)
  t.ok(ms >= 250, `closed after ${Math.round(ms)} ms`)
  const answer = parseAnswer(client.received())
  t.equal(answer.status, 408)
  t.equal(answer.headers.connection, 'close')
  t.same(JSON.parse(answer.body), { error: 'La petición no llegó a tiempo', code: 'TIEMPO_PETICION_AGOTADO' })
  t.same(usuarios.hits, [])
  await waitFor('the gateway to log it', () => /"code":"ERR_HTTP_REQUEST_TIMEOUT".*client error, connection closed/.test(gw.readLog()))
  t.pass('logged')
})

t.test('an idle keep-alive connection is closed after GATEWAY_KEEPALIVE_TIMEOUT_MS', async (t) => {
  const { gw } = await setup(t, { GATEWAY_KEEPALIVE_TIMEOUT_MS: '300' })
  const client = await rawClient(t, gw.url)
  client.write(`GET /usuarios/1 HTTP/1.1\r\nHost: ${host(gw.url)}\r\n\r\n`)
  await client.waitText(/\r\n\r\n\{.*\}$/s)
  const answered = performance.now()
  t.equal(parseAnswer(client.received()).status, 200)
  const ms = await client.waitClosed(5_000, answered)
  t.ok(ms >= 200, `closed ${Math.round(ms)} ms after the answer`)
})

t.test('Expect: 100-continue', async (t) => {
  const { usuarios, gw } = await setup(t)
  const body = '{"monto":25,"concepto":"Libro"}'
  const client = await rawClient(t, gw.url)
  client.write(`POST /usuarios/1/pagar HTTP/1.1\r\nHost: ${host(gw.url)}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\nIdempotency-Key: k-expect\r\n\r\n`)
  await client.waitText(/^HTTP\/1\.1 100 Continue\r\n\r\n/)
  t.pass('the gateway answers 100 Continue itself')
  client.write(body)
  await client.waitText(/\r\n\r\n\{.*\}$/s)
  const answer = parseAnswer(client.received())
  t.equal(answer.status, 200, 'the service\'s answer comes back')
  t.equal(usuarios.hits.length, 1)
  const hit = usuarios.hits[0]!
  t.equal(hit.headers.expect, undefined, 'the service gets no Expect')
  t.equal(hit.headers['content-length'], String(body.length))
  t.equal(JSON.parse(answer.body).servicio, 'usuarios')

  t.test('a declared body over GATEWAY_BODY_LIMIT is a 413 instead of the 100 Continue', async (t) => {
    const big = await rawClient(t, gw.url)
    big.write(`POST /usuarios/1/pagar HTTP/1.1\r\nHost: ${host(gw.url)}\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n`)
    await big.waitClosed(5_000)
    t.notMatch(big.received(), /100 Continue/, 'no 100 Continue: the client keeps its body')
    const res = parseAnswer(big.received())
    t.equal(res.status, 413)
    t.same(JSON.parse(res.body), { error: 'Cuerpo de la petición demasiado grande', code: 'GATEWAY_ERR_CUERPO_DEMASIADO_GRANDE' })
    t.equal(usuarios.hits.length, 1, 'usuarios was not asked')
  })

  t.test('an Expect other than 100-continue is a 417 JSON', async (t) => {
    const other = await rawClient(t, gw.url)
    other.write(`POST /usuarios/1/pagar HTTP/1.1\r\nHost: ${host(gw.url)}\r\nContent-Length: 2\r\nExpect: algo-raro\r\n\r\n{}`)
    await other.waitClosed(5_000)
    const res = parseAnswer(other.received())
    t.equal(res.status, 417)
    t.same(JSON.parse(res.body), { error: 'Expect no soportado: solo 100-continue', code: 'EXPECT_NO_SOPORTADO' })
  })
})

t.test('hop-by-hop headers never reach a service; end-to-end ones do', async (t) => {
  const { usuarios, gw } = await setup(t)
  const client = await rawClient(t, gw.url)
  client.write([
    'POST /usuarios/1/pagar HTTP/1.1',
    `Host: ${host(gw.url)}`,
    'Connection: keep-alive, X-Solo-Salto',
    'X-Solo-Salto: 1',
    'Keep-Alive: timeout=5',
    'TE: trailers',
    'Trailer: X-Suma',
    'Proxy-Authorization: Basic Zm9vOmJhcg==',
    'Proxy-Connection: keep-alive',
    'X-Normal: sigue',
    'Content-Type: application/json',
    'Content-Length: 2',
    '',
    '{}'
  ].join('\r\n'))
  await client.waitText(/\r\n\r\n\{.*\}$/s)
  t.equal(parseAnswer(client.received()).status, 200)
  const seen = usuarios.hits[0]!.headers
  for (const name of ['connection', 'x-solo-salto', 'keep-alive', 'te', 'trailer', 'proxy-authorization', 'proxy-connection', 'upgrade', 'expect', 'transfer-encoding']) {
    // Node's client side adds its own `connection: keep-alive` to the pool's requests: not the client's.
    if (name === 'connection') t.not(seen.connection, 'keep-alive, X-Solo-Salto', 'not the client\'s Connection')
    else t.equal(seen[name], undefined, `${name} is not forwarded`)
  }
  t.equal(seen['x-normal'], 'sigue')
  t.equal(seen['content-type'], 'application/json')
  t.match(seen['x-request-id'], /^[0-9a-f-]{36}$/)
})

t.test('a header the client repeats reaches the service on as many lines; one the gateway removes stays removed', async (t) => {
  const key = 'clave-de-prueba-A-0123456789abcdef'
  const { usuarios, gw } = await setup(t, { GATEWAY_API_KEYS: key })
  const client = await rawClient(t, gw.url)
  client.write([
    'POST /usuarios/1/pagar HTTP/1.1',
    `Host: ${host(gw.url)}`,
    `Authorization: Bearer ${key}`,
    `Authorization: Bearer ${key}`,
    'Idempotency-Key: clave-a',
    'X-Normal: sigue',
    'idempotency-key: clave-b',
    'Proxy-Authorization: Basic Zm9vOmJhcg==',
    'Proxy-Authorization: Basic YmFyOmZvbw==',
    'Content-Type: application/json',
    'Content-Length: 2',
    'Connection: close',
    '',
    '{}'
  ].join('\r\n'))
  await client.waitClosed(5_000)
  t.equal(parseAnswer(client.received()).status, 200)
  const raw = usuarios.hits[0]!.rawHeaders
  const lines = (name: string): string[] => raw.filter((_, i) => i % 2 === 1 && raw[i - 1]!.toLowerCase() === name)
  t.same(lines('idempotency-key'), ['clave-a', 'clave-b'], 'Idempotency-Key on two lines, as sent')
  t.same(lines('x-normal'), ['sigue'], 'a header sent once, once')
  t.same(lines('authorization'), [], 'the API key is not forwarded, however many times it came')
  t.same(lines('proxy-authorization'), [], 'nor a hop-by-hop header')
})

t.test('a chunked body is read whole: forwarded with its Content-Length, or a 413 over GATEWAY_BODY_LIMIT', async (t) => {
  const { usuarios, gw } = await setup(t, { GATEWAY_BODY_LIMIT: '1024' })
  const send = async (body: string) => {
    const client = await rawClient(t, gw.url)
    const chunks = body.match(/.{1,100}/gs) ?? []
    client.write(`POST /usuarios/1/pagar HTTP/1.1\r\nHost: ${host(gw.url)}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`)
    for (const c of chunks) client.write(`${Buffer.byteLength(c).toString(16)}\r\n${c}\r\n`)
    client.write('0\r\n\r\n')
    await client.waitText(/\r\n\r\n\{.*\}$/s)
    return parseAnswer(client.received())
  }
  const small = `{"concepto":"${'a'.repeat(500)}"}`
  t.equal((await send(small)).status, 200)
  t.equal(usuarios.hits[0]!.headers['content-length'], String(small.length))
  t.equal(usuarios.hits[0]!.headers['transfer-encoding'], undefined)
  const big = await send(`{"concepto":"${'a'.repeat(2000)}"}`)
  t.equal(big.status, 413)
  t.same(JSON.parse(big.body), { error: 'Cuerpo de la petición demasiado grande', code: 'GATEWAY_ERR_CUERPO_DEMASIADO_GRANDE' })
  t.equal(usuarios.hits.length, 1, 'the large one never reached usuarios')
})

t.test('requests Node\'s parser refuses are a 400 JSON and a close; nothing reaches a service', async (t) => {
  const { usuarios, pagos, gw } = await setup(t)
  const h = host(gw.url)
  const cases: Array<[string, string]> = [
    ['Content-Length and Transfer-Encoding together (CL.TE)', `POST /usuarios/1/pagar HTTP/1.1\r\nHost: ${h}\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /pagos/contrabando HTTP/1.1\r\nHost: ${h}\r\n\r\n`],
    ['two different Content-Lengths', `POST /usuarios/1/pagar HTTP/1.1\r\nHost: ${h}\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\n{}{}`],
    ['a Transfer-Encoding that does not end in chunked', `POST /usuarios/1/pagar HTTP/1.1\r\nHost: ${h}\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n`],
    ['a space before the colon (Transfer-Encoding : chunked)', `POST /usuarios/1/pagar HTTP/1.1\r\nHost: ${h}\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n`],
    ['an obfuscated chunk size', `POST /usuarios/1/pagar HTTP/1.1\r\nHost: ${h}\r\nTransfer-Encoding: chunked\r\n\r\n0x2\r\n{}\r\n0\r\n\r\n`],
    ['a bare LF line ending inside the headers', `POST /usuarios/1/pagar HTTP/1.1\r\nHost: ${h}\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n`],
    ['a request line that is not HTTP', 'HOLA QUE TAL\r\n\r\n']
  ]
  for (const [what, raw] of cases) {
    const client = await rawClient(t, gw.url)
    client.write(raw)
    await client.waitClosed(5_000)
    const answer = parseAnswer(client.received())
    t.equal(answer.status, 400, `${what}: 400`)
    t.equal(answer.headers.connection, 'close', `${what}: closed`)
    t.same(JSON.parse(answer.body), { error: 'Petición HTTP mal formada', code: 'PETICION_MAL_FORMADA' }, `${what}: JSON`)
  }
  t.same(usuarios.hits, [], 'usuarios saw none of them')
  t.same(pagos.hits, [], 'pagos saw none of them')

  t.test('a request hidden in a body with a correct Content-Length stays body', async (t) => {
    const hidden = `GET /pagos/contrabando HTTP/1.1\r\nHost: ${h}\r\n\r\n`
    const client = await rawClient(t, gw.url)
    client.write(`POST /usuarios/1/pagar HTTP/1.1\r\nHost: ${h}\r\nContent-Type: text/plain\r\nContent-Length: ${hidden.length}\r\nConnection: close\r\n\r\n${hidden}`)
    await client.waitClosed(5_000)
    t.equal(parseAnswer(client.received()).status, 200)
    t.same(usuarios.hits.map((x) => `${x.method} ${x.url}`), ['POST /usuarios/1/pagar'])
    t.same(pagos.hits, [], 'pagos never saw the hidden GET')
  })
})

t.test('headers too large are a 431 JSON; a URL too long a 414 JSON', async (t) => {
  const { usuarios, gw } = await setup(t)
  const big = await rawClient(t, gw.url)
  big.write(`GET /usuarios/1 HTTP/1.1\r\nHost: ${host(gw.url)}\r\nX-Grande: ${'a'.repeat(20_000)}\r\n\r\n`)
  await big.waitClosed(5_000)
  const tooBig = parseAnswer(big.received())
  t.equal(tooBig.status, 431)
  t.same(JSON.parse(tooBig.body), { error: 'Cabeceras de la petición demasiado grandes', code: 'CABECERAS_DEMASIADO_GRANDES' })

  const res = await fetch(`${gw.url}/usuarios/1?q=${'a'.repeat(9_000)}`)
  t.equal(res.status, 414)
  t.same(await res.json(), { error: 'URL demasiado larga', code: 'URL_DEMASIADO_LARGA' })
  t.same(usuarios.hits, [])
})

t.test('an HTTP/1.1 request without Host is a 400 JSON, and CONNECT a 405 JSON; nothing reaches a service', async (t) => {
  const { usuarios, gw } = await setup(t)
  const noHost = await rawClient(t, gw.url)
  noHost.write('GET /usuarios/1 HTTP/1.1\r\n\r\n')
  await noHost.waitClosed(5_000)
  const a = parseAnswer(noHost.received())
  t.equal(a.status, 400, 'no Host: 400 (RFC 9112 3.2)')
  t.match(JSON.parse(a.body), { code: 'PETICION_MAL_FORMADA', error: /Host/ })

  const tunnel = await rawClient(t, gw.url)
  tunnel.write('CONNECT 127.0.0.1:5004 HTTP/1.1\r\nHost: 127.0.0.1:5004\r\n\r\n')
  await tunnel.waitClosed(5_000)
  const b = parseAnswer(tunnel.received())
  t.equal(b.status, 405, 'CONNECT: 405, not a dropped connection')
  t.same(JSON.parse(b.body), { error: 'Método no permitido', code: 'METODO_NO_PERMITIDO' })
  t.same(usuarios.hits, [])
})

t.test('Expect: 100-continue through the gateway to the real usuarios: 202, and a retry with the same key is the same payment (issue 12, fault 5)', async (t) => {
  const { app } = await usuariosApp(t)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  const gw = await startGateway(t, { USUARIOS_URL: `http://127.0.0.1:${address.port}`, PAGOS_URL: 'http://127.0.0.1:9' })
  const body = '{"monto":25,"concepto":"Libro"}'
  const pay = async () => {
    const client = await rawClient(t, gw.url)
    client.write(`POST /usuarios/1/pagar HTTP/1.1\r\nHost: ${host(gw.url)}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\nIdempotency-Key: k-fault-5\r\n\r\n`)
    await client.waitText(/^HTTP\/1\.1 100 Continue\r\n\r\n/)
    client.write(body)
    await client.waitText(/\r\n\r\n\{.*\}$/s)
    return parseAnswer(client.received())
  }
  const first = await pay()
  t.equal(first.status, 202, 'accepted')
  const pago = JSON.parse(first.body).pago
  t.match(pago, { estado: 'pendiente', monto: 25, concepto: 'Libro' })
  const again = await pay()
  t.equal(again.status, 202)
  t.equal(again.headers['idempotent-replayed'], 'true', 'the retry is the original answer')
  t.equal(JSON.parse(again.body).pago.id, pago.id, 'the same payment')
  const saldo = (await (await fetch(`${gw.url}/usuarios/1`)).json()).saldo
  t.equal(saldo, 475, 'debited once')
})

t.test('a request that arrives while the gateway shuts down is a 503 JSON and a close', async (t) => {
  // usuarios holds /usuarios/lento until released: that keeps the shutdown waiting.
  const held: Array<() => void> = []
  const seen: string[] = []
  const upstream = createServer((req, res) => {
    seen.push(String(req.url))
    const answer = () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}')
    if (req.url === '/usuarios/lento') held.push(answer)
    else answer()
  })
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { upstream.closeAllConnections(); upstream.close() })
  const port = (upstream.address() as { port: number }).port
  const gw = await startGateway(t, { USUARIOS_URL: `http://127.0.0.1:${port}`, PAGOS_URL: 'http://127.0.0.1:9' })
  const client = await rawClient(t, gw.url)
  client.write(`GET /usuarios/lento HTTP/1.1\r\nHost: ${host(gw.url)}\r\n\r\n`)
  await waitFor('usuarios to hold the first request', () => held.length === 1)
  const closed = gw.closeAndReadLog()
  await waitFor('the shutdown to begin', async () => (await fetch(`${gw.url}/health/live`).then(() => false, () => true)))
  // On the connection kept open by the request in flight.
  client.write(`GET /usuarios/1 HTTP/1.1\r\nHost: ${host(gw.url)}\r\n\r\n`)
  // Its bytes reach the gateway before usuarios' answer to the first does.
  held[0]!()
  await closed
  const text = client.received()
  const second = parseAnswer(text.slice(text.indexOf('HTTP/1.1', 1)))
  t.equal(parseAnswer(text).status, 200, 'the request in flight is finished')
  t.equal(second.status, 503, 'the one that came after is refused')
  t.equal(second.headers.connection, 'close')
  t.same(JSON.parse(second.body), { error: 'Servicio deteniéndose', code: 'SERVICIO_DETENIENDOSE' })
  t.same(seen, ['/usuarios/lento'], 'usuarios never saw the second')
})

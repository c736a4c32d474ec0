import t from 'tap'
import { call } from '../helpers/http.js'
import { parseAnswer, parseAnswers, rawClient } from '../helpers/raw-http.js'
import { startSystem, type System } from '../../lib/launch/system.js'

/*
 * Found by a newcomer on the built services, directly and through the
 * gateway, with a client that writes its own bytes:
 * - requests pipelined on one connection ran at once: a payment sent after a
 *   top-up, on a balance of 0, was accepted (10 of 10 directly), the
 *   statement showing the top-up first; RFC 9112 §9.3.2 allows parallel work
 *   only for safe methods. Each now runs after the answer before it.
 * - `Transfer-Encoding: gzip, chunked` had its chunks read as plain JSON and
 *   paid (RFC 9112 §6.1: an unknown transfer coding is a 501);
 * - two Host lines, or a Host that names no host, were served (§3.2: a 400);
 * - a request line saying HTTP/2.0 was served as HTTP/1.1 (a 505).
 */
let sys: System
t.before(async () => { sys = await startSystem('pipelining') })
t.teardown(async () => { await sys?.stop() })

const entries = (): Array<[string, string]> => [['directly on usuarios', sys.usuarios.url], ['through the gateway', sys.gateway.url]]

const post = (host: string, path: string, body: string, extra = ''): string =>
  `POST ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`

t.test('pipelined requests run in the order sent: a top-up, then a payment it pays for', async (t) => {
  for (const [where, base] of entries()) {
    for (let i = 0; i < 5; i++) {
      const id = (await call('POST', `${base}/usuarios`, { nombre: 'En cola', saldo: 0 })).body.id as number
      const host = new URL(base).host
      const client = await rawClient(t, base)
      // One write: the three requests arrive together.
      client.write(post(host, `/usuarios/${id}/recargar`, '{"monto":100}') + post(host, `/usuarios/${id}/pagar`, '{"monto":100}') +
        `GET /usuarios/${id} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)
      await client.waitClosed(15_000)
      const got = parseAnswers(client.received()).map((a) => ({ status: a.status, body: JSON.parse(a.body) }))
      t.same(got.map((a) => a.status), [200, 202, 200], `${where}, try ${i + 1}: top-up, payment, read, each answered`)
      t.equal(got[1]?.body.usuario.saldo, 0, `${where}, try ${i + 1}: the payment saw the top-up`)
      t.equal(got[2]?.body.saldo, 0, `${where}, try ${i + 1}: the read saw both`)
      const movimientos = (await call('GET', `${base}/usuarios/${id}/movimientos`)).body.movimientos.map((m: { tipo: string }) => m.tipo)
      t.same(movimientos, ['pago', 'recarga', 'alta'], `${where}, try ${i + 1}: the statement in the order sent`)
    }
  }
})

t.test('a transfer coding other than chunked is a 501, and nothing is paid', async (t) => {
  for (const [where, base] of entries()) {
    const id = (await call('POST', `${base}/usuarios`, { nombre: 'Codificada', saldo: 500 })).body.id as number
    for (const te of ['gzip, chunked', 'foo, chunked', 'identity, chunked']) {
      const client = await rawClient(t, base)
      client.write(`POST /usuarios/${id}/pagar HTTP/1.1\r\nHost: ${new URL(base).host}\r\nContent-Type: application/json\r\nTransfer-Encoding: ${te}\r\nConnection: close\r\n\r\nc\r\n{"monto":10}\r\n0\r\n\r\n`)
      await client.waitClosed(10_000)
      const answer = parseAnswer(client.received())
      t.equal(answer.status, 501, `${where}: ${te}: 501`)
      t.same(JSON.parse(answer.body), { error: 'Codificación de transferencia no soportada: solo chunked', code: 'CODIFICACION_TRANSFERENCIA_NO_SOPORTADA' })
    }
    t.equal((await call('GET', `${base}/usuarios/${id}`)).body.saldo, 500, `${where}: nothing paid`)
  }
})

t.test('Host on two lines, or naming no host, is a 400; HTTP/2.0 in a request line is a 505', async (t) => {
  const bad = { error: 'Petición HTTP mal formada: la cabecera Host debe ir una sola vez y nombrar un host', code: 'PETICION_MAL_FORMADA' }
  for (const [where, base] of entries()) {
    const id = (await call('POST', `${base}/usuarios`, { nombre: 'Anfitriona', saldo: 500 })).body.id as number
    for (const hosts of [['a', 'b'], ['a', 'a'], ['a b'], ['x/y'], ['a:b']]) {
      const client = await rawClient(t, base)
      client.write(`POST /usuarios/${id}/pagar HTTP/1.1\r\n${hosts.map((h) => `Host: ${h}\r\n`).join('')}Content-Type: application/json\r\nContent-Length: 12\r\nConnection: close\r\n\r\n{"monto":10}`)
      await client.waitClosed(10_000)
      const answer = parseAnswer(client.received())
      t.same([answer.status, JSON.parse(answer.body)], [400, bad], `${where}: Host ${hosts.join(' + ')}: 400`)
    }
    for (const host of ['', '127.0.0.1:5002', '[::1]:5002', 'ejemplo.com']) {
      const client = await rawClient(t, base)
      client.write(`GET /usuarios/${id} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)
      await client.waitClosed(10_000)
      t.equal(parseAnswer(client.received()).status, 200, `${where}: Host ${JSON.stringify(host)} is fine`)
    }
    const client = await rawClient(t, base)
    client.write(`POST /usuarios/${id}/pagar HTTP/2.0\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{"monto":10}`)
    await client.waitClosed(10_000)
    const answer = parseAnswer(client.received())
    t.same([answer.status, JSON.parse(answer.body)], [505, { error: 'Versión de HTTP no soportada: use HTTP/1.1', code: 'VERSION_HTTP_NO_SOPORTADA' }], `${where}: HTTP/2.0: 505`)
    t.equal((await call('GET', `${base}/usuarios/${id}`)).body.saldo, 500, `${where}: nothing paid`)
  }
})

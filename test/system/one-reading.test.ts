import t from 'tap'
import type { Test } from '../helpers/apps.js'
import { call } from '../helpers/http.js'
import { parseAnswer, rawClient, type RawAnswer } from '../helpers/raw-http.js'
import { startSystem, type System } from '../../lib/launch/system.js'

/*
 * Requests that two programs could read two ways, found by a newcomer on the
 * built services as processes, sent by a client that writes the bytes itself,
 * directly and through the gateway. Each was carried out on one reading:
 * - a JSON object naming `monto` twice paid the last one;
 * - `Content-Type: application/json; charset` (a parameter with no value) and
 *   two Content-Type lines (Node keeps the first) paid;
 * - `GET * HTTP/1.1` on the gateway answered its dashboard;
 * - `Accept: text/*` on the statement answered JSON;
 * - U+FFFF in a name was refused as a "control character".
 * Now: one reading or a 4xx, and nothing paid.
 */
let sys: System
t.before(async () => { sys = await startSystem('onereading') })
t.teardown(async () => { await sys?.stop() })

const entries = (): Array<[string, string]> => [['directly on usuarios', sys.usuarios.url], ['through the gateway', sys.gateway.url]]

/** What a user can see of their account: balance and number of payments. */
async function account (base: string, id: number): Promise<unknown> {
  return [(await call('GET', `${base}/usuarios/${id}`)).body.saldo, (await call('GET', `${base}/usuarios/${id}/pagos?limit=100`)).body.total]
}

/** `head` (a request line and header lines) and `body` written on a socket as they are; the first answer. */
async function raw (t: Test, base: string, head: string[], body = ''): Promise<RawAnswer> {
  const client = await rawClient(t, base)
  const lines = [head[0]!, `Host: ${new URL(base).host}`, ...head.slice(1), ...(body === '' ? [] : [`Content-Length: ${Buffer.byteLength(body)}`]), 'Connection: close']
  client.write(`${lines.join('\r\n')}\r\n\r\n${body}`)
  await client.waitClosed(10_000)
  return parseAnswer(client.received())
}

t.test('an object naming a member twice is a 400 naming it, and nothing is paid', async (t) => {
  for (const [where, base] of entries()) {
    const before = await account(base, 2)
    for (const body of ['{"monto":1,"monto":900}', '{"monto":1,"concepto":"a","\\u006donto":1}', '{"monto": 1, "concepto": {"x": 1, "x": 2}}']) {
      const answer = await raw(t, base, ['POST /usuarios/2/pagar HTTP/1.1', 'Content-Type: application/json'], body)
      t.equal(answer.status, 400, `${where}: ${body}: 400`)
      const campo = body.includes('"x"') ? 'x' : 'monto'
      t.same(JSON.parse(answer.body), { error: 'Datos inválidos', code: 'VALIDACION', campo, detalle: `\`${campo}\` aparece más de una vez en el mismo objeto` }, `${where}: ${body}: names it`)
    }
    t.same(await account(base, 2), before, `${where}: nothing paid`)
    // The same name in two different objects is not a repeat.
    const ok = await raw(t, base, ['POST /usuarios/2/pagar HTTP/1.1', 'Content-Type: application/json'], '{"monto":1,"concepto":"monto"}')
    t.equal(ok.status, 202, `${where}: a value equal to a name is fine`)
  }
})

t.test('a Content-Type that is not one well-formed media type is refused, and nothing is paid', async (t) => {
  const unsupported = { error: 'Tipo de contenido no soportado: use application/json', code: 'TIPO_CONTENIDO_NO_SOPORTADO' }
  const twice = { error: 'Datos inválidos', code: 'VALIDACION', campo: 'Content-Type', detalle: '`Content-Type` debe aparecer una sola vez' }
  for (const [where, base] of entries()) {
    const before = await account(base, 2)
    for (const type of ['application/json; charset', 'application/json; charset="utf-8', 'application/json; =utf-8', 'application/json charset=utf-8']) {
      const answer = await raw(t, base, ['POST /usuarios/2/pagar HTTP/1.1', `Content-Type: ${type}`], '{"monto":1}')
      t.same([answer.status, JSON.parse(answer.body)], [415, unsupported], `${where}: ${type}: 415`)
    }
    for (const lines of [['application/json', 'text/plain'], ['text/plain', 'application/json'], ['application/json', 'application/json']]) {
      const answer = await raw(t, base, ['POST /usuarios/2/pagar HTTP/1.1', ...lines.map((l) => `Content-Type: ${l}`)], '{"monto":1}')
      // Node keeps the first line: text/plain first is refused as text/plain already.
      const expected = lines[0] === 'text/plain' ? [415, unsupported] : [400, twice]
      t.same([answer.status, JSON.parse(answer.body)], expected, `${where}: Content-Type ${lines.join(' then ')}: ${expected[0] as number}`)
    }
    t.same(await account(base, 2), before, `${where}: nothing paid`)
    for (const type of ['application/json;charset=UTF-8', 'application/json ; charset="utf-8"', 'application/json;;']) {
      const answer = await raw(t, base, ['POST /usuarios/2/pagar HTTP/1.1', `Content-Type: ${type}`], '{"monto":1}')
      t.equal(answer.status, 202, `${where}: ${type} is well formed`)
    }
  }
})

t.test('the request target * is for OPTIONS only: 400 with any other method, 204 with Allow for OPTIONS', async (t) => {
  const services: Array<[string, string]> = [['usuarios', sys.usuarios.url], ['pagos', sys.pagos.url], ['the gateway', sys.gateway.url]]
  for (const [name, base] of services) {
    for (const method of ['GET', 'HEAD', 'POST']) {
      const answer = await raw(t, base, [`${method} * HTTP/1.1`])
      t.equal(answer.status, 400, `${name}: ${method} *: 400`)
      if (method !== 'HEAD') {
        t.same(JSON.parse(answer.body), { error: 'Petición HTTP mal formada: el destino * solo vale para OPTIONS', code: 'PETICION_MAL_FORMADA' }, `${name}: ${method} *: says why`)
      }
    }
    const options = await raw(t, base, ['OPTIONS * HTTP/1.1'])
    t.equal(options.status, 204, `${name}: OPTIONS *: 204`)
    // The gateway's proxy routes take every method (the service decides).
    t.equal(options.headers.allow, name === 'the gateway' ? 'DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT' : 'GET, HEAD, OPTIONS, POST', `${name}: Allow lists the server's methods, OPTIONS with them`)
  }
})

t.test('Accept: text/* asks for the statement as CSV', async (t) => {
  for (const [where, base] of entries()) {
    const answer = await raw(t, base, ['GET /usuarios/2/movimientos HTTP/1.1', 'Accept: text/*'])
    t.equal(answer.status, 200, `${where}: 200`)
    t.match(answer.headers['content-type'], /^text\/csv; charset=utf-8$/, `${where}: CSV`)
    // Streamed: the body is chunked, its first chunk the header row.
    t.match(answer.body, /^[0-9a-f]+\r\nid,tipo,monto,saldo,fecha,referencia\r\n/, `${where}: its header row`)
  }
})

t.test('a noncharacter and a line separator are refused for what they are', async (t) => {
  for (const [where, base] of entries()) {
    for (const [text, detalle] of [['Ana\\uffff', 'tiene no-caracteres de Unicode (como U+FFFE o U+FFFF)'], ['Ana\\u2028', 'tiene separadores de línea o de párrafo (U+2028, U+2029)'], ['Ana\\u0007', 'tiene caracteres de control']]) {
      const answer = await raw(t, base, ['POST /usuarios HTTP/1.1', 'Content-Type: application/json'], `{"nombre":"${text}","saldo":1}`)
      t.same([answer.status, JSON.parse(answer.body)], [400, { error: 'Datos inválidos', code: 'VALIDACION', campo: 'nombre', detalle: `\`nombre\` ${detalle}` }], `${where}: ${text}`)
    }
  }
})

t.test('a body that is only a byte order mark is not "no body": a 400, nothing paid or refunded', async (t) => {
  for (const [where, base] of entries()) {
    const before = await account(base, 2)
    const client = await rawClient(t, base)
    const head = `POST /usuarios/2/pagar HTTP/1.1\r\nHost: ${new URL(base).host}\r\nContent-Type: application/json\r\nContent-Length: 3\r\nConnection: close\r\n\r\n`
    client.write(Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from([0xef, 0xbb, 0xbf])]))
    await client.waitClosed(10_000)
    const answer = parseAnswer(client.received())
    t.same([answer.status, JSON.parse(answer.body)], [400, { error: 'JSON inválido', code: 'JSON_INVALIDO' }], `${where}: a BOM alone is a 400`)
    t.same(await account(base, 2), before, `${where}: nothing paid`)
  }
})

t.test('a query on an operation that takes a body is refused, not ignored', async (t) => {
  for (const [where, base] of entries()) {
    const before = await account(base, 2)
    for (const path of ['/usuarios/2/pagar?monto=5', '/usuarios/2/recargar?monto=5&x=1']) {
      const answer = await raw(t, base, [`POST ${path} HTTP/1.1`, 'Content-Type: application/json'], path.includes('pagar') ? '' : '{"monto":1}')
      t.same([answer.status, JSON.parse(answer.body)], [400, { error: 'Datos inválidos', code: 'VALIDACION', campo: 'monto', detalle: '`monto` no es un parámetro de esta operación: los datos van en el cuerpo JSON' }], `${where}: ${path}`)
    }
    t.same(await account(base, 2), before, `${where}: nothing paid or topped up`)
  }
})

t.test('a field named like an Object.prototype member is named, not answered with its source', async (t) => {
  for (const [where, base] of entries()) {
    for (const campo of ['constructor', 'toString', 'hasOwnProperty']) {
      const answer = await raw(t, base, ['POST /usuarios/2/pagar HTTP/1.1', 'Content-Type: application/json'], `{"${campo}":1}`)
      t.same([answer.status, JSON.parse(answer.body)], [400, { error: 'Datos inválidos', code: 'VALIDACION', campo, detalle: `\`${campo}\` no es un campo de esta petición` }], `${where}: ${campo}`)
    }
  }
})

t.test('a charset given twice must name UTF-8 both times', async (t) => {
  for (const [where, base] of entries()) {
    const before = await account(base, 2)
    for (const type of ['application/json; charset=utf-8; charset=latin1', 'application/json; charset=latin1; charset=utf-8']) {
      const answer = await raw(t, base, ['POST /usuarios/2/pagar HTTP/1.1', `Content-Type: ${type}`], '{"monto":1}')
      t.equal(answer.status, 415, `${where}: ${type}: 415`)
      t.equal(JSON.parse(answer.body).code, 'CHARSET_NO_SOPORTADO')
    }
    t.same(await account(base, 2), before, `${where}: nothing paid`)
  }
})

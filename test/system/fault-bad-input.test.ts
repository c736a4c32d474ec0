import { request } from 'node:http'
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { call } from '../helpers/http.js'
import { waitFor } from '../helpers/poll.js'
import type { RunningService } from '../../lib/launch/service.js'
import { startSystem, type System } from '../../lib/launch/system.js'

// Malformed requests through the gateway, as a client (or an attacker) would
// send them: each is a 4xx JSON error without internals, nothing changes, and
// every service is still up afterwards.
let sys: System
t.before(async () => { sys = await startSystem('badinput') })
t.teardown(async () => { await sys?.stop() })

const gw = (path: string): string => `${sys.gateway.url}${path}`
const JSON_CT = { 'content-type': 'application/json' }
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

interface Case {
  name: string
  method: string
  path: string
  body?: string | Buffer | FormData
  headers?: Record<string, string>
  /** Sent with node:http: chunked bodies, no content-type, oversized headers (fetch would normalise them). */
  raw?: boolean
  status: number
}

interface Answer { status: number, contentType: string, text: string, requestId: string | null }

async function send (c: Case): Promise<Answer> {
  if (c.raw === true) {
    return await new Promise((resolve, reject) => {
      const req = request(gw(c.path), { method: c.method, headers: c.headers }, (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (d: string) => { text += d })
        res.on('end', () => resolve({
          status: res.statusCode ?? 0,
          contentType: String(res.headers['content-type'] ?? ''),
          text,
          requestId: typeof res.headers['x-request-id'] === 'string' ? res.headers['x-request-id'] : null
        }))
      })
      req.on('error', reject)
      if (c.body !== undefined) req.write(c.body as string | Buffer)
      req.end()
    })
  }
  const res = await fetch(gw(c.path), { method: c.method, headers: c.headers, body: c.body as RequestInit['body'] })
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text(), requestId: res.headers.get('x-request-id') }
}

const pagar = (name: string, body: string, status = 400, headers: Record<string, string> = JSON_CT): Case =>
  ({ name, method: 'POST', path: '/usuarios/1/pagar', body, headers, status })
const crear = (name: string, body: string, status = 400, headers: Record<string, string> = JSON_CT): Case =>
  ({ name, method: 'POST', path: '/usuarios', body, headers, status })
const get = (name: string, path: string, status = 400, headers?: Record<string, string>): Case =>
  ({ name, method: 'GET', path, status, ...(headers === undefined ? {} : { headers }) })

const multipart = new FormData()
multipart.append('monto', '5')

const cases: Case[] = [
  // bad user ids
  get('non-numeric id', '/usuarios/abc'),
  get('negative id', '/usuarios/-1'),
  get('id zero', '/usuarios/0'),
  get('decimal id', '/usuarios/1.5'),
  get('exponent id', '/usuarios/1e3'),
  get('huge id', '/usuarios/99999999999999999999'),
  get('malformed percent-encoding', '/usuarios/%zz'),
  // Over 8 KiB of URL (nginx's request-line buffer): 414, not a 400 about the id.
  get('id of 9000 digits', `/usuarios/${'1'.repeat(9000)}`, 414),
  get('unknown user', '/usuarios/999', 404),
  { name: 'pay from a non-numeric id', method: 'POST', path: '/usuarios/abc/pagar', body: '{"monto":5}', headers: JSON_CT, status: 400 },
  { name: 'top up id zero', method: 'POST', path: '/usuarios/0/recargar', body: '{"monto":5}', headers: JSON_CT, status: 400 },
  { name: 'pay from an unknown user', method: 'POST', path: '/usuarios/999/pagar', body: '{"monto":5}', headers: JSON_CT, status: 404 },

  // bodies that are not JSON, or not an object
  pagar('truncated JSON', '{"monto": 5'),
  pagar('trailing comma', '{"monto": 5,}'),
  pagar('JSON string as body', '"25"'),
  pagar('JSON array as body', '[25]'),
  pagar('JSON number as body', '25'),
  pagar('JSON null as body', 'null'),
  pagar('NaN spelled in the body', '{"monto": NaN}'),
  pagar('Infinity spelled in the body', '{"monto": Infinity}'),
  pagar('-Infinity spelled in the body', '{"monto": -Infinity}'),
  pagar('__proto__ key', '{"monto": 5, "__proto__": {"admin": true}}'),
  pagar('constructor.prototype key', '{"monto": 5, "constructor": {"prototype": {"admin": true}}}'),
  { name: 'binary garbage labelled JSON', method: 'POST', path: '/usuarios/1/pagar', body: Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0xc3, 0x28]), headers: JSON_CT, status: 400 },

  // wrong types
  pagar('monto as a string', '{"monto": "25"}'),
  pagar('monto true', '{"monto": true}'),
  pagar('monto null', '{"monto": null}'),
  pagar('monto an array', '{"monto": []}'),
  pagar('monto an object', '{"monto": {}}'),
  pagar('concepto a number', '{"monto": 5, "concepto": 7}'),
  pagar('concepto empty', '{"monto": 5, "concepto": ""}'),
  pagar('concepto of 201 chars', JSON.stringify({ monto: 5, concepto: 'c'.repeat(201) })),

  // amounts that are not a positive number with at most 2 decimals
  pagar('three decimals', '{"monto": 12.345}'),
  pagar('tiny amount', '{"monto": 0.001}'),
  pagar('zero', '{"monto": 0}'),
  pagar('negative', '{"monto": -5}'),
  pagar('negative zero', '{"monto": -0}'),
  pagar('1e309 (parses to Infinity)', '{"monto": 1e309}'),
  pagar('1e21', '{"monto": 1e21}'),
  pagar('float noise 0.1+0.2', '{"monto": 0.30000000000000004}'),
  { name: 'top-up of 1e309', method: 'POST', path: '/usuarios/1/recargar', body: '{"monto": 1e309}', headers: JSON_CT, status: 400 },
  { name: 'top-up without monto', method: 'POST', path: '/usuarios/1/recargar', status: 400 },
  pagar('more than the balance', '{"monto": 100000}', 409),

  // bodies over 64 KiB
  pagar('body of 70 KB', JSON.stringify({ monto: 5, concepto: 'x'.repeat(70_000) }), 413),
  { name: 'chunked body of 100 KB (no content-length)', method: 'POST', path: '/usuarios/1/pagar', raw: true, headers: { ...JSON_CT, 'transfer-encoding': 'chunked' }, body: JSON.stringify({ monto: 5, concepto: 'x'.repeat(100_000) }), status: 413 },
  crear('body of 1 MiB', JSON.stringify({ nombre: 'Grande', relleno: 'x'.repeat(1024 * 1024) }), 413),

  // content types other than JSON
  pagar('text/plain', '{"monto": 5}', 415, { 'content-type': 'text/plain' }),
  pagar('application/xml', '<pago><monto>5</monto></pago>', 415, { 'content-type': 'application/xml' }),
  pagar('form-urlencoded', 'monto=5', 415, { 'content-type': 'application/x-www-form-urlencoded' }),
  { name: 'multipart/form-data', method: 'POST', path: '/usuarios/1/pagar', body: multipart, status: 415 },
  { name: 'a body without content-type', method: 'POST', path: '/usuarios/1/pagar', raw: true, headers: { 'content-length': '12' }, body: '{"monto": 5}', status: 415 },

  // creating users
  crear('missing nombre', '{"saldo": 5}'),
  crear('nombre of 10 000 chars', JSON.stringify({ nombre: 'n'.repeat(10_000) })),
  crear('blank nombre', '{"nombre": "   "}'),
  crear('nombre a number', '{"nombre": 42}'),
  crear('negative saldo', '{"nombre": "Eva", "saldo": -1}'),
  crear('saldo as a string', '{"nombre": "Eva", "saldo": "50"}'),
  crear('saldo with three decimals', '{"nombre": "Eva", "saldo": 0.005}'),
  crear('saldo above the largest balance', '{"nombre": "Eva", "saldo": 10000000000.01}'),

  // text that is not well-formed, or not text (issue 12)
  crear('nombre with a lone surrogate, escaped', '{"nombre": "Ana\\ud83d", "saldo": 1}'),
  crear('nombre with NUL', '{"nombre": "Ana\\u0000"}'),
  crear('nombre of invisible characters only', '{"nombre": "\\u200b\\u3000"}'),
  pagar('concepto with a control character', '{"monto": 5, "concepto": "Libro\\u0007"}'),
  { name: 'a surrogate encoded as UTF-8 bytes in nombre', method: 'POST', path: '/usuarios', body: Buffer.concat([Buffer.from('{"nombre": "Ana'), Buffer.from([0xed, 0xa0, 0xbd]), Buffer.from('"}')]), headers: JSON_CT, status: 400 },
  crear('a Latin-1 charset', '{"nombre": "Eva"}', 415, { 'content-type': 'application/json; charset=iso-8859-1' }),

  // unknown routes, and known paths with a method they do not have (405, issue 12)
  get('unknown route', '/nada', 404),
  { name: 'DELETE a user', method: 'DELETE', path: '/usuarios/1', status: 405 },
  { name: 'PUT pagar', method: 'PUT', path: '/usuarios/1/pagar', body: '{"monto": 5}', headers: JSON_CT, status: 405 },
  { name: 'PATCH a user', method: 'PATCH', path: '/usuarios/1', body: '{"saldo": 1000000}', headers: JSON_CT, status: 405 },
  get('GET pagar', '/usuarios/1/pagar', 405),
  { name: 'POST /pagos/status', method: 'POST', path: '/pagos/status', status: 405 },
  get('path escaping the prefix', '/usuarios/..%2f..%2fpagos/status'),

  // bad queries
  get('limit=0', '/usuarios?limit=0'),
  get('limit=1000', '/usuarios?limit=1000'),
  get('offset=-1', '/usuarios?offset=-1'),
  get('limit twice', '/usuarios?limit=1&limit=2'),
  get('estado=raro', '/usuarios/1/pagos?estado=raro'),
  get('pagos estado=pendiente (pagos only records final ones)', '/pagos?estado=pendiente'),
  get('pagos usuario=abc', '/pagos?usuario=abc'),

  // bad payment ids
  get('non-uuid pagoId under a user', '/usuarios/1/pagos/no-es-un-uuid'),
  get('non-uuid pagoId in pagos', '/pagos/no-es-un-uuid'),
  get('SQL in the pagoId', "/pagos/1'%20OR%20'1'='1"),
  get('unknown payment', `/pagos/${randomUUID()}`, 404),
  get('unknown payment of a user', `/usuarios/1/pagos/${randomUUID()}`, 404),

  // headers
  pagar('Idempotency-Key of 201 chars', '{"monto": 5}', 400, { ...JSON_CT, 'idempotency-key': 'k'.repeat(201) }),
  pagar('Idempotency-Key with spaces', '{"monto": 5}', 400, { ...JSON_CT, 'idempotency-key': 'clave con espacios' }),
  pagar('empty Idempotency-Key', '{"monto": 5}', 400, { ...JSON_CT, 'idempotency-key': '' }),
  get('invalid x-request-id on a bad request', '/usuarios/abc', 400, { 'x-request-id': 'no vale <script>' }),
  get('x-request-id of 200 chars on an unknown route', '/nada', 404, { 'x-request-id': 'r'.repeat(200) }),
  { name: 'headers of 20 KB', method: 'GET', path: '/usuarios/1', raw: true, headers: { 'x-relleno': 'x'.repeat(20_000) }, status: 431 }
]

interface Snapshot { usuarios: unknown, pagos: unknown, pagosDeWillis: unknown, figures: unknown }

async function quiet (): Promise<void> {
  await waitFor('both outboxes empty', async () => {
    const [u, p] = await Promise.all([call('GET', `${sys.usuarios.url}/health/ready`), call('GET', `${sys.pagos.url}/health/ready`)])
    return u.body.outboxPendientes === 0 && p.body.outboxPendientes === 0
  }, { timeoutMs: 30_000 })
}

async function snapshot (): Promise<Snapshot> {
  await quiet()
  const status = (await call('GET', gw('/pagos/status'))).body
  return {
    usuarios: (await call('GET', gw('/usuarios?limit=100'))).body,
    pagos: (await call('GET', gw('/pagos?limit=100'))).body,
    pagosDeWillis: (await call('GET', gw('/usuarios/1/pagos?limit=100'))).body,
    figures: { procesados: status.procesados, fallidos: status.fallidos, deadLetter: status.deadLetter }
  }
}

const alive = (s: RunningService): boolean => s.process.exitCode === null && s.process.signalCode === null
const errorLogs = (): number => [sys.usuarios, sys.pagos, sys.gateway]
  .reduce((n, s) => n + s.lines.filter((l) => typeof l.level === 'number' && l.level >= 50).length, 0)

t.test(`${cases.length} malformed requests through the gateway: 4xx JSON errors, nothing changes, everything stays up`, async (t) => {
  t.ok(cases.length >= 40, 'at least 40 cases')
  // One real payment first, so that there is money movement to compare against.
  const pago = await call('POST', gw('/usuarios/1/pagar'), { monto: 10, concepto: 'antes de la tabla' })
  t.equal(pago.status, 202)
  await waitFor('the real payment final', async () =>
    (await call('GET', gw(`/usuarios/1/pagos/${pago.body.pago.id}`))).body.estado === 'completado', { timeoutMs: 30_000 })
  const before = await snapshot()
  t.equal((before.usuarios as any).total, 2, 'the two seeded users')
  const errorsBefore = errorLogs()

  for (const c of cases) {
    await t.test(`${c.method} ${c.path.slice(0, 50)}: ${c.name}`, async (t) => {
      const a = await send(c)
      t.equal(a.status, c.status, `answers ${c.status}`)
      t.ok(a.status >= 400 && a.status < 500, 'a 4xx, never a 5xx')
      t.match(a.contentType, /^application\/json/, 'JSON content type')
      let body: any
      t.doesNotThrow(() => { body = JSON.parse(a.text) }, 'the body is JSON')
      t.type(body?.error, 'string', 'with an error message')
      t.notOk(Object.hasOwn(body ?? {}, 'stack'), 'no stack property')
      for (const leak of ['127.0.0.1', 'localhost', '/work/', sys.dir, 'node_modules', '"stack"']) {
        t.notOk(a.text.includes(leak), `does not mention ${leak}`)
      }
      t.notMatch(a.text, /\bat \S+ \(|\bat .*:\d+:\d+/, 'no stack trace lines')
      if (a.status !== 431) {
        t.match(a.requestId ?? '', REQUEST_ID, 'a valid x-request-id comes back')
        const sent = c.headers?.['x-request-id']
        if (sent !== undefined) t.not(a.requestId, sent, 'the invalid x-request-id was replaced')
      }
    })
  }

  t.equal(errorLogs(), errorsBefore, 'no service logged an error (level >= 50) while answering the table')
  t.same(await snapshot(), before, 'same users and balances, same payments in usuarios and pagos, same figures')
})

t.test('an invalid x-request-id on a good request is replaced and the request still succeeds', async (t) => {
  for (const bad of ['con espacios', 'x'.repeat(129), 'ñandú', '../../etc/passwd']) {
    const r = await call('GET', gw('/usuarios/1'), undefined, { 'x-request-id': bad })
    t.equal(r.status, 200)
    t.equal(r.body.nombre, 'Willis')
    const id = r.headers.get('x-request-id') ?? ''
    t.not(id, bad, `"${bad.slice(0, 20)}" replaced`)
    t.match(id, REQUEST_ID)
  }
})

t.test('after the table the three services still answer and none has exited', async (t) => {
  const willis = await call('GET', gw('/usuarios/1'))
  t.equal(willis.status, 200)
  t.match(willis.body, { id: 1, nombre: 'Willis', saldo: 490 })
  const status = await call('GET', gw('/pagos/status'))
  t.equal(status.status, 200)
  t.match(status.body, { status: 'running', broker: { conectado: true } })
  t.equal((await call('GET', gw('/health'))).status, 200, 'the gateway reports both services ready')
  const pago = await call('POST', gw('/usuarios/2/pagar'), { monto: 1 })
  t.equal(pago.status, 202, 'a good payment is still accepted')
  for (const s of [sys.usuarios, sys.pagos, sys.gateway]) t.ok(alive(s), `${s.name} is still running`)
})

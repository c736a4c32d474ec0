import t from 'tap'
import { call } from '../helpers/http.js'
import { parseAnswers, rawClient } from '../helpers/raw-http.js'
import { startSystem, type System } from '../../lib/launch/system.js'

/*
 * Found by a newcomer, on the built services as processes, directly and
 * through the gateway:
 * - a valid payment followed on the same connection by bytes Node's parser
 *   refuses: the payment was carried out, but the client got only the 400
 *   for the bytes (16 of 20 tries) — a client that believes it pays again.
 *   Every answer a connection owes now goes out before the refusal.
 * - a body of only whitespace is not "no body": it paid the default amount
 *   (or refunded everything left); it is not JSON, so a 400.
 * - a Content-Encoding other than identity with an empty body and no
 *   Content-Type paid the default amount, where the same with a Content-Type
 *   was a 415: the header is refused whatever the body.
 * - a path parameter over 100 characters answered Fastify's own
 *   FST_ERR_MAX_PARAM_LENGTH instead of the validation error a long id gets.
 */
let sys: System
t.before(async () => { sys = await startSystem('refusal') })
t.teardown(async () => { await sys?.stop() })

const entries = (): Array<[string, string]> => [['directly on usuarios', sys.usuarios.url], ['through the gateway', sys.gateway.url]]

/** A user's balance and number of payments. */
async function account (base: string, id: number): Promise<[number, number]> {
  return [(await call('GET', `${base}/usuarios/${id}`)).body.saldo, (await call('GET', `${base}/usuarios/${id}/pagos?limit=100`)).body.total]
}

async function newUser (base: string, saldo: number): Promise<number> {
  const res = await call('POST', `${base}/usuarios`, { nombre: 'Pipelined', saldo })
  return res.body.id as number
}

t.test('a valid payment followed by refused bytes on the same connection: its 202 first, then the 400, and it is paid once', async (t) => {
  for (const [where, base] of entries()) {
    for (const [garbage, expected] of [['GARBAGE\r\n\r\n', 400], ['POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', 400]] as const) {
      const id = await newUser(base, 100)
      const body = '{"monto":40}'
      const client = await rawClient(t, base)
      // One write: the bad bytes arrive with the payment, as close as they can.
      client.write(`POST /usuarios/${id}/pagar HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}${garbage}`)
      await client.waitClosed(15_000)
      const got = parseAnswers(client.received())
      t.same(got.map((a) => a.status), [202, expected], `${where}, ${JSON.stringify(garbage.slice(0, 12))}: the payment's answer, then the refusal`)
      t.match(JSON.parse(got[0]?.body ?? '{}'), { mensaje: 'Solicitud de pago enviada' }, `${where}: the 202 is the payment's`)
      t.same(await account(base, id), [60, 1], `${where}: paid once`)
    }
  }
})

t.test('pipelined valid requests before refused bytes: every answer, in order, then the refusal', async (t) => {
  const base = sys.gateway.url
  const id = await newUser(base, 100)
  const pay = (monto: number): string => { const b = `{"monto":${monto}}`; return `POST /usuarios/${id}/pagar HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${b.length}\r\n\r\n${b}` }
  const client = await rawClient(t, base)
  client.write(`${pay(1)}GET /usuarios/${id} HTTP/1.1\r\nHost: x\r\n\r\n${pay(2)}\u0000\u0001 nonsense\r\n\r\n`)
  // More bytes while the answers are still owed: still one refusal.
  client.write('MORE NONSENSE\r\n\r\n')
  await client.waitClosed(15_000)
  t.same(parseAnswers(client.received()).map((a) => a.status), [202, 200, 202, 400])
  t.same(await account(base, id), [97, 2], 'both payments, once each')
})

t.test('a body of only whitespace is a 400 JSON_INVALIDO: no default payment, no full refund', async (t) => {
  for (const [where, base] of entries()) {
    const id = await newUser(base, 500)
    for (const blank of ['\n', '   ', '\r\n\t ']) {
      const res = await fetch(`${base}/usuarios/${id}/pagar`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: blank })
      t.equal(res.status, 400, `${where}: pagar with ${JSON.stringify(blank)}`)
      t.match(await res.json(), { code: 'JSON_INVALIDO' })
    }
    const paid = await call('POST', `${base}/usuarios/${id}/pagar`, { monto: 10 })
    t.equal(paid.status, 202)
    const pagoId = paid.body.pago.id as number
    const refund = await fetch(`${base}/usuarios/${id}/pagos/${pagoId}/reembolsos`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '  \n' })
    t.equal(refund.status, 400, `${where}: a refund with a blank body`)
    t.same(await account(base, id), [490, 1], `${where}: one payment of 10, nothing else`)
    // No body at all is still the original's plain `curl -X POST`: the default amount.
    const none = await fetch(`${base}/usuarios/${id}/pagar`, { method: 'POST', headers: { 'content-type': 'application/json' } })
    t.equal(none.status, 202, `${where}: an empty body is no body`)
  }
})

t.test('a Content-Encoding other than identity is a 415 with or without a body or a Content-Type', async (t) => {
  for (const [where, base] of entries()) {
    const id = await newUser(base, 500)
    for (const headers of [{ 'content-encoding': 'gzip' }, { 'content-encoding': 'gzip', 'content-type': 'application/json' }, { 'content-encoding': 'br', 'content-length': '0' }] as Array<Record<string, string>>) {
      const res = await fetch(`${base}/usuarios/${id}/pagar`, { method: 'POST', headers })
      t.equal(res.status, 415, `${where}: ${JSON.stringify(headers)}`)
      t.match(await res.json(), { code: 'CODIFICACION_NO_SOPORTADA' })
    }
    t.same(await account(base, id), [500, 0], `${where}: nothing paid`)
    const identity = await fetch(`${base}/usuarios/${id}/pagar`, { method: 'POST', headers: { 'content-encoding': 'identity' } })
    t.equal(identity.status, 202, `${where}: identity is no coding`)
  }
})

t.test('a path parameter of any length gets the validation error a long id gets, never a framework code', async (t) => {
  const cases: Array<[string, string, string]> = [
    [sys.gateway.url, `/usuarios/${'1'.repeat(101)}`, 'usuarioId'],
    [sys.usuarios.url, `/usuarios/${'1'.repeat(101)}`, 'usuarioId'],
    [sys.gateway.url, `/pagos/${'a'.repeat(500)}`, 'pagoId']
  ]
  for (const [base, path, campo] of cases) {
    const res = await fetch(`${base}${path}`)
    const body = await res.json() as { code: string, campo?: string }
    t.equal(res.status, 400, `${path.slice(0, 20)}…: 400`)
    t.equal(body.code, 'VALIDACION', 'the validation code')
    t.equal(body.campo, campo, `naming ${campo}`)
  }
  const longUrl = await fetch(`${sys.usuarios.url}/usuarios/${'9'.repeat(9000)}`)
  t.equal(longUrl.status, 414, 'a URL over 8 KiB is a 414 on the service too')
  t.match(await longUrl.json(), { code: 'URL_DEMASIADO_LARGA' })
})

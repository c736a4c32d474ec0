import t from 'tap'
import type { Test } from '../helpers/apps.js'
import { call } from '../helpers/http.js'
import { parseAnswer, rawClient } from '../helpers/raw-http.js'
import { startSystem, type System } from '../../lib/launch/system.js'

/*
 * An Idempotency-Key header sent twice in one request, on the built services
 * as processes, directly and through the gateway, from a client that really
 * writes the header on two lines: a 400 saying it must appear once, and
 * nothing is done. Found by a newcomer: Node joins the two into "a, b", which
 * was refused for its space ("solo admite caracteres ASCII visibles, sin
 * espacios"), a message about something the client never sent.
 */
let sys: System
t.before(async () => { sys = await startSystem('idemonce') })
t.teardown(async () => { await sys?.stop() })

/** What a user can see of their account: balance and number of payments. */
async function account (base: string, id: number): Promise<unknown> {
  return [(await call('GET', `${base}/usuarios/${id}`)).body.saldo, (await call('GET', `${base}/usuarios/${id}/pagos?limit=100`)).body.total]
}

const entries = (): Array<[string, string]> => [['directly on usuarios', sys.usuarios.url], ['through the gateway', sys.gateway.url]]

/** A request written byte by byte on a socket: `headers` may repeat a name, as fetch never would. */
async function raw (t: Test, base: string, path: string, headers: Array<[string, string]>, body: string): Promise<{ status: number, body: any }> {
  const client = await rawClient(t, base)
  const lines = [`POST ${path} HTTP/1.1`, `Host: ${new URL(base).host}`, 'Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close',
    ...headers.map(([name, value]) => `${name}: ${value}`)]
  client.write(`${lines.join('\r\n')}\r\n\r\n${body}`)
  await client.waitClosed(10_000)
  const answer = parseAnswer(client.received())
  return { status: answer.status, body: JSON.parse(answer.body) }
}

t.test('an Idempotency-Key header sent twice is a 400 saying it must appear once, and nothing is done', async (t) => {
  const once = {
    error: 'Datos inválidos',
    code: 'VALIDACION',
    campo: 'Idempotency-Key',
    detalle: '`Idempotency-Key` debe aparecer una sola vez'
  }
  for (const [where, base] of entries()) {
    const before = await account(base, 2)
    const twice: Array<[string, Array<[string, string]>]> = [
      ['two different keys', [['Idempotency-Key', 'clave-a'], ['Idempotency-Key', 'clave-b']]],
      ['the same key twice', [['Idempotency-Key', 'clave-c'], ['Idempotency-Key', 'clave-c']]],
      ['names in other cases', [['idempotency-key', 'clave-d'], ['IDEMPOTENCY-KEY', 'clave-e']]]
    ]
    for (const [name, headers] of twice) {
      const pagar = await raw(t, base, '/usuarios/2/pagar', headers, '{"monto":1}')
      t.equal(pagar.status, 400, `${where}: pagar, ${name}: 400`)
      t.same(pagar.body, once, `${where}: pagar, ${name}: says the header must appear once`)
    }
    const recargar = await raw(t, base, '/usuarios/2/recargar', twice[0]![1], '{"monto":1}')
    t.same([recargar.status, recargar.body], [400, once], `${where}: recargar too`)
    t.same(await account(base, 2), before, `${where}: nothing paid or topped up`)
    // One key, and one that merely contains a comma, are fine.
    const good = await raw(t, base, '/usuarios/2/pagar', [['Idempotency-Key', `una,sola-${where.length}`]], '{"monto":1}')
    t.equal(good.status, 202, `${where}: a single key with a comma in it is accepted`)
  }
})

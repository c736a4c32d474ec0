import { gzipSync } from 'node:zlib'
import t from 'tap'
import { call } from '../helpers/http.js'
import { startSystem, type System } from '../../lib/launch/system.js'

/*
 * A body with a Content-Encoding other than identity, on the built services
 * as processes, directly and through the gateway: a 415
 * (CODIFICACION_NO_SOPORTADA) with Accept-Encoding: identity, and nothing
 * changes. Found by a newcomer: a plain JSON body labelled gzip was taken as
 * plain, and a real gzip body was a 400 "not UTF-8" naming no field.
 */
let sys: System
t.before(async () => { sys = await startSystem('encoding') })
t.teardown(async () => { await sys?.stop() })

const PAGO = JSON.stringify({ monto: 1, concepto: 'codificado' })
const ENCODING_REFUSED = {
  error: 'Codificación de contenido no soportada: envíe el cuerpo sin comprimir (Content-Encoding: identity)',
  code: 'CODIFICACION_NO_SOPORTADA'
}

interface Answer { status: number, headers: Headers, body: any }

async function post (url: string, body: string | Buffer, headers: Record<string, string>): Promise<Answer> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body })
  const text = await res.text()
  return { status: res.status, headers: res.headers, body: JSON.parse(text) }
}

/** What a user can see of their account: balance and number of payments. */
async function account (base: string, id: number): Promise<unknown> {
  return [(await call('GET', `${base}/usuarios/${id}`)).body.saldo, (await call('GET', `${base}/usuarios/${id}/pagos?limit=100`)).body.total]
}

const entries = (): Array<[string, string]> => [['directly on usuarios', sys.usuarios.url], ['through the gateway', sys.gateway.url]]

t.test('a body with a Content-Encoding other than identity is a 415 and changes nothing', async (t) => {
  const encodings: Array<[string, string | Buffer, string]> = [
    ['a plain JSON body labelled gzip', PAGO, 'gzip'],
    ['a real gzip body', gzipSync(PAGO), 'gzip'],
    ['GZIP in capitals', gzipSync(PAGO), 'GZIP'],
    ['deflate', PAGO, 'deflate'],
    ['br', PAGO, 'br'],
    ['a list ending in identity', gzipSync(PAGO), 'gzip, identity'],
    ['a list starting with identity', gzipSync(PAGO), 'identity, gzip'],
    ['an unknown coding', PAGO, 'x-rot13']
  ]
  for (const [where, base] of entries()) {
    const before = await account(base, 2)
    for (const [name, body, encoding] of encodings) {
      const a = await post(`${base}/usuarios/2/pagar`, body, { 'content-encoding': encoding })
      t.equal(a.status, 415, `${where}: ${name} (${encoding}) is a 415`)
      t.same(a.body, ENCODING_REFUSED, `${where}: ${name}: the Spanish error and its code`)
      t.equal(a.headers.get('accept-encoding'), 'identity', `${where}: ${name}: Accept-Encoding says what is accepted`)
    }
    const created = await post(`${base}/usuarios`, gzipSync(JSON.stringify({ nombre: 'Comprimida', saldo: 1 })), { 'content-encoding': 'gzip' })
    t.equal(created.status, 415, `${where}: creating a user with a gzip body is a 415 too`)
    t.same(await account(base, 2), before, `${where}: no payment made, the balance unchanged`)
  }
  t.equal((await call('GET', `${sys.gateway.url}/usuarios?limit=100`)).body.total, 2, 'no user created')
})

t.test('Content-Encoding: identity (any case) is a plain body, accepted', async (t) => {
  for (const [where, base] of entries()) {
    for (const encoding of ['identity', 'IDENTITY', 'identity, identity']) {
      const a = await post(`${base}/usuarios/2/pagar`, PAGO, { 'content-encoding': encoding })
      t.equal(a.status, 202, `${where}: ${encoding} accepted`)
      t.equal(a.body.pago?.concepto, 'codificado')
    }
  }
})

import fc from 'fast-check'
import t from 'tap'
import { Value } from 'typebox/value'
import {
  MONTO_MAXIMO, MONTO_MAXIMO_CENTIMOS, MontoSchema, SALDO_MAXIMO, SALDO_MAXIMO_CENTIMOS, SaldoInicialSchema,
  centimosExactos, fromCentimos, toCentimos
} from '../../contracts/money.js'
import { loadUsuariosConfig } from '../../usuarios/config.js'
import { usuariosApp } from '../helpers/apps.js'

/** A decimal text for integer cents, built from digits only: 123456789 → "1234567.89". */
const texto = (centimos: number): string => {
  const d = String(centimos).padStart(3, '0')
  return `${d.slice(0, -2)}.${d.slice(-2)}`
}

t.test('a monto with at most 2 decimals becomes exact integer cents', async (t) => {
  t.equal(toCentimos(25), 2500)
  t.equal(toCentimos(0.29), 29)
  t.equal(toCentimos(12.5), 1250)
  t.equal(toCentimos(1_000_000_000), 100_000_000_000)
  t.equal(fromCentimos(29), 0.29)
  t.equal(fromCentimos(1250), 12.5)
  t.equal(fromCentimos(50000), 500)
  t.equal(fromCentimos(5), 0.05)
  t.equal(fromCentimos(0), 0)
})

// Issue 12: TypeBox's multipleOf: 0.01 is a float remainder with a 1e-10
// tolerance; from 1,048,576.13 upwards it refused about two thirds of the
// valid amounts, 1234567.89 among them.
t.test('1234567.89 and the amounts multipleOf refused are money, exact to the cent', async (t) => {
  for (const [monto, cents] of [[1234567.89, 123_456_789], [1048576.13, 104_857_613], [9999999.99, 999_999_999], [999999999.99, 99_999_999_999], [1_000_000_000, 100_000_000_000]] as const) {
    t.ok(Value.Check(MontoSchema, monto), `${monto} is money`)
    t.equal(toCentimos(monto), cents, `${monto} is ${cents} cents`)
    t.equal(fromCentimos(cents), monto, `${cents} cents show as ${monto}`)
  }
})

t.test('the schema refuses what is not money', async (t) => {
  for (const ok of [0.01, 0.29, 1, 12.5, 99.99, 1_000_000_000]) t.ok(Value.Check(MontoSchema, ok), `${ok} is money`)
  for (const bad of [0, -0, -1, 12.345, 0.001, 1e-9, 1_000_000_000.01, 0.30000000000000004, 0.3000000001, Infinity, NaN, '25', true, null]) {
    t.notOk(Value.Check(MontoSchema, bad), `${String(bad)} is refused`)
  }
})

t.test('toCentimos refuses a fraction of a cent, fromCentimos what is not a safe integer', async (t) => {
  t.throws(() => toCentimos(0.005))
  t.throws(() => toCentimos(0.30000000000000004))
  t.throws(() => toCentimos(1e21))
  t.throws(() => fromCentimos(2 ** 53))
  t.throws(() => fromCentimos(1.5))
})

t.test('the limits: the largest amount and the largest balance, well inside 2^53 cents', async (t) => {
  t.equal(MONTO_MAXIMO_CENTIMOS, MONTO_MAXIMO * 100)
  t.equal(SALDO_MAXIMO_CENTIMOS, SALDO_MAXIMO * 100)
  t.ok(SALDO_MAXIMO_CENTIMOS + MONTO_MAXIMO_CENTIMOS < Number.MAX_SAFE_INTEGER / 1000, 'a balance plus an amount is far inside the safe integers')
  t.ok(String(SALDO_MAXIMO_CENTIMOS).length <= 15, 'every balance has at most 15 significant digits: a double reads it back exactly')
  t.ok(Value.Check(SaldoInicialSchema, 0), 'an initial balance may be 0')
  t.ok(Value.Check(SaldoInicialSchema, SALDO_MAXIMO), 'or the ceiling')
  t.notOk(Value.Check(SaldoInicialSchema, SALDO_MAXIMO + 0.01), 'not above it')
  t.notOk(Value.Check(SaldoInicialSchema, 0.001))
})

t.test('the configuration reads an amount with the same rule', async (t) => {
  t.equal(loadUsuariosConfig({ PAGO_MONTO_DEFECTO: '1234567.89' }).PAGO_MONTO_DEFECTO, 1234567.89)
  t.throws(() => loadUsuariosConfig({ PAGO_MONTO_DEFECTO: '0.001' }), /PAGO_MONTO_DEFECTO/)
})

/** Every amount from 0.01 to the largest, with the small ones and the edges well represented. */
const validCents = fc.oneof(
  fc.integer({ min: 1, max: MONTO_MAXIMO_CENTIMOS }),
  fc.integer({ min: 1, max: 100_000 }),
  fc.integer({ min: 104_857_600, max: 1_000_000_000 }),
  fc.constantFrom(1, 99, 100, 123_456_789, 104_857_613, MONTO_MAXIMO_CENTIMOS - 1, MONTO_MAXIMO_CENTIMOS)
)

t.test('property: every amount with at most 2 decimals up to the largest is money, and round-trips to its cents', async (t) => {
  fc.assert(fc.property(validCents, (cents) => {
    const monto = JSON.parse(texto(cents)) as number // what a client's JSON becomes
    return Value.Check(MontoSchema, monto) && toCentimos(monto) === cents && fromCentimos(cents) === monto &&
      JSON.stringify(fromCentimos(cents)) === JSON.stringify(monto)
  }), { numRuns: 20_000 })
  t.pass('20,000 amounts')
})

t.test('property: a number with 3 to 5 decimals is never money, at any magnitude', async (t) => {
  const extra = fc.tuple(fc.integer({ min: 0, max: MONTO_MAXIMO }), fc.integer({ min: 3, max: 5 }), fc.integer({ min: 1, max: 99_999 }))
    .filter(([, places, frac]) => frac % 10 !== 0 && frac < 10 ** places)
    .map(([whole, places, frac]) => `${whole}.${String(frac).padStart(places, '0')}`)
  fc.assert(fc.property(extra, (text) => {
    const n = JSON.parse(text) as number
    return !Value.Check(MontoSchema, n) && centimosExactos(n) === undefined
  }), { numRuns: 20_000 })
  t.pass('20,000 texts')
})

t.test('property: above the largest amount, zero and negatives are refused', async (t) => {
  const bad = fc.oneof(
    fc.integer({ min: MONTO_MAXIMO_CENTIMOS + 1, max: 10 ** 14 }),
    fc.integer({ min: -MONTO_MAXIMO_CENTIMOS, max: 0 })
  )
  fc.assert(fc.property(bad, (cents) => !Value.Check(MontoSchema, JSON.parse(cents < 0 ? `-${texto(-cents)}` : texto(cents)))), { numRuns: 5_000 })
  t.pass('5,000 amounts')
})

t.test('the OpenAPI document states the rule and the limits', async (t) => {
  const { app } = await usuariosApp(t)
  const doc = (await app.inject('/openapi.json')).json()
  const body = (path: string): any => doc.paths[path].post.requestBody.content['application/json'].schema.properties
  for (const path of ['/usuarios/{usuarioId}/recargar', '/usuarios/{usuarioId}/pagar']) {
    t.match(body(path).monto, { type: 'number', exclusiveMinimum: 0, maximum: MONTO_MAXIMO, description: /como máximo 2 decimales/ }, `${path}: monto`)
    t.notOk('multipleOf' in body(path).monto, 'no multipleOf: a validator would check it with float division')
  }
  t.match(body('/usuarios').saldo, { type: 'number', minimum: 0, maximum: SALDO_MAXIMO, description: /como máximo 2 decimales/ })
  t.match(body('/usuarios').nombre, { type: 'string', maxLength: 100, description: /sin caracteres de control/ })
  const usuario = doc.paths['/usuarios/{usuarioId}'].get.responses['200'].content['application/json'].schema.properties.saldo
  t.equal(usuario.maximum, SALDO_MAXIMO, 'a balance is documented with its ceiling')
  t.ok(doc.paths['/usuarios/{usuarioId}/recargar'].post.responses['409'], 'the refused top-up is documented')
})

// A number with more digits than a double holds is rounded by JSON.parse:
// 0.3000000000000000001 would become 0.3 and pass. The digits the client
// wrote decide.
t.test('a JSON number is judged by the digits the client wrote, not by the double it rounds to', async (t) => {
  const { app } = await usuariosApp(t)
  const post = async (url: string, payload: string) => {
    const res = await app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload })
    return { status: res.statusCode, body: res.json() }
  }
  for (const monto of ['0.3000000000000000001', '12.340000000000000000001', '12345678901234567891', '1e309']) {
    const r = await post('/usuarios/1/recargar', `{"monto": ${monto}}`)
    t.equal(r.status, 400, `${monto} is refused`)
    t.match(r.body, { code: 'VALIDACION', campo: 'monto', detalle: /como máximo 2 decimales/ })
  }
  const saldo = await post('/usuarios', '{"nombre": "X", "saldo": 100.0000000000000000000001}')
  t.match(saldo, { status: 400, body: { campo: 'saldo' } })
  t.equal((await app.inject('/usuarios/1')).json().saldo, 500, 'nothing changed')
  for (const [monto, saldo] of [['25.00', 525], ['1e2', 625], ['0.10', 625.1], ['1234567.890', 1235192.99]] as const) {
    const r = await post('/usuarios/1/recargar', `{"monto": ${monto}}`)
    t.equal(r.status, 200, `${monto} is written exactly: accepted`)
    t.equal(r.body.usuario.saldo, saldo)
  }
  const concepto = await post('/usuarios/1/pagar', '{"monto": 1, "concepto": "ref 0.3000000000000000001"}')
  t.equal(concepto.status, 202, 'digits inside a string are text')
})

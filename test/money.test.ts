import t from 'tap'
import { Value } from 'typebox/value'
import { MontoSchema, fromCentimos, toCentimos } from '../contracts/money.js'

t.test('a monto with at most 2 decimals becomes exact integer cents', async (t) => {
  t.equal(toCentimos(25), 2500)
  t.equal(toCentimos(0.29), 29)
  t.equal(toCentimos(12.5), 1250)
  t.equal(toCentimos(1_000_000_000), 100_000_000_000)
  t.equal(fromCentimos(29), 0.29)
  t.equal(fromCentimos(1250), 12.5)
  t.equal(fromCentimos(50000), 500)
})

t.test('the schema refuses what is not money', async (t) => {
  for (const ok of [0.01, 0.29, 1, 12.5, 99.99, 1_000_000_000]) t.ok(Value.Check(MontoSchema, ok), `${ok} is money`)
  for (const bad of [0, -1, 12.345, 0.001, 1e-9, 1_000_000_000.01, Infinity, NaN, '25', true, null]) {
    t.notOk(Value.Check(MontoSchema, bad), `${String(bad)} is refused`)
  }
})

t.test('toCentimos refuses a fraction of a cent', async (t) => {
  t.throws(() => toCentimos(0.005))
})

import fc from 'fast-check'
import t from 'tap'
import { createCuentaPagosStore } from '../../usuarios/store/cuenta-pagos-store.js'
import { createCuentasStore } from '../../usuarios/store/cuentas-store.js'
import { checkStatement } from '../../usuarios/statement.js'
import { usuariosDb } from '../helpers/apps.js'
import { freshKey, procesado, storedStatementViolations } from '../helpers/statement.js'

/*
 * The account statement always adds up: a random sequence of operations
 * against one account (payments, top-ups, results, repeated results and
 * retried keys; in small concurrent bursts through the group commit), then
 * every movement's saldo is the running sum and the sum is the saldo.
 */

type Op =
  | { op: 'pagar', centimos: number, key: boolean }
  | { op: 'recargar', centimos: number, key: boolean }
  | { op: 'resolver', pick: number, estado: 'completado' | 'fallido' }
  | { op: 'repetir' }

const centimos = fc.integer({ min: 1, max: 80_000 })
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('pagar' as const), centimos, key: fc.boolean() }),
  fc.record({ op: fc.constant('recargar' as const), centimos, key: fc.boolean() }),
  fc.record({ op: fc.constant('resolver' as const), pick: fc.nat(), estado: fc.constantFrom('completado' as const, 'fallido' as const) }),
  fc.constant({ op: 'repetir' as const })
)

t.test('whatever happens to an account, its statement adds up to its saldo', async (t) => {
  const db = await usuariosDb(t)
  const cuentas = createCuentasStore(db)
  const pagos = createCuentaPagosStore(db, () => {})
  await fc.assert(fc.asyncProperty(fc.integer({ min: 0, max: 100_000 }), fc.array(fc.array(op, { minLength: 1, maxLength: 4 }), { maxLength: 12 }), async (inicial, bursts) => {
    const usuario = await cuentas.create('Propiedad', inicial)
    const pendientes: Array<{ id: string, usuarioId: number, montoCentimos: number }> = []
    const resueltos: Array<ReturnType<typeof procesado>> = []
    let modelo = inicial
    const lastKey: Record<'pagar' | 'recargar', string | undefined> = { pagar: undefined, recargar: undefined }
    const run = async (o: Op): Promise<void> => {
      if (o.op === 'pagar' || o.op === 'recargar') {
        // Half the keyed requests retry the previous key of that operation (a replay or a 422: no movement).
        const key = o.key ? (lastKey[o.op] !== undefined && o.centimos % 2 === 0 ? lastKey[o.op] : freshKey()) : undefined
        if (key !== undefined) lastKey[o.op] = key
        if (o.op === 'pagar') {
          const r = await pagos.pagar({ usuarioId: usuario.id, montoCentimos: o.centimos, concepto: null, correlationId: null, idempotencyKey: key })
          if (r.kind === 'accepted') { modelo -= o.centimos; pendientes.push({ id: r.pago.id, usuarioId: usuario.id, montoCentimos: o.centimos }) }
        } else {
          const r = await cuentas.recargar(usuario.id, o.centimos, key)
          if (r.kind === 'topped-up') modelo += o.centimos
        }
      } else if (o.op === 'resolver' && pendientes.length > 0) {
        const [pago] = pendientes.splice(o.pick % pendientes.length, 1)
        const m = procesado(pago!, o.estado)
        if ((await pagos.applyPagoProcesado(m)).kind === 'applied' && o.estado === 'fallido') modelo += pago!.montoCentimos
        resueltos.push(m)
      } else if (o.op === 'repetir' && resueltos.length > 0) {
        // A result delivered again is a duplicate: no second devolucion.
        await pagos.applyPagoProcesado(resueltos[resueltos.length - 1]!)
      }
    }
    for (const burst of bursts) await Promise.all(burst.map(run))
    const violations = await storedStatementViolations(db, usuario.id)
    const saldo = (await cuentas.find(usuario.id))!.saldo
    if (violations.length > 0 || Math.round(saldo * 100) !== modelo) throw new Error(`saldo ${saldo}, model ${modelo} cents: ${violations.join('; ')}`)
  }), { numRuns: 60 })
  t.pass('60 random histories, every statement adds up')
})

t.test('checkStatement names what is wrong', async (t) => {
  const alta = { id: 1, tipo: 'alta', montoCentimos: 500, saldoCentimos: 500, fecha: '2026-01-01T00:00:00.000Z' }
  const pago = { id: 2, tipo: 'pago', montoCentimos: -100, saldoCentimos: 400, fecha: '2026-01-01T00:00:01.000Z' }
  t.same(checkStatement([pago, alta], 400), [], 'in any order, a good statement')
  t.match(checkStatement([alta, pago], 500), [/add up to 400, saldo is 500/])
  t.match(checkStatement([alta, { ...pago, saldoCentimos: 450 }], 450), [/saldo 450 != running sum 400/, /add up to 400/])
  // Ids order the statement; dates come from the clock of the instance that wrote each movement.
  t.same(checkStatement([alta, { ...pago, fecha: '2025-12-31T00:00:00.000Z' }], 400), [], 'a date out of id order is not a violation')
  t.match(checkStatement([alta, { ...pago, id: 1 }], 400), [/listed twice/])
  t.match(checkStatement([{ ...pago, id: 0 }, alta], 400), [/is pago, not alta/])
  t.match(checkStatement([], 0), [/no movements/])
})

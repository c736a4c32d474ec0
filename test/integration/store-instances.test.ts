import { randomUUID } from 'node:crypto'
import t from 'tap'
import type { PagoProcesadoV1, PagoSolicitadoV1 } from '../../contracts/messages.js'
import { createProcesadosStore } from '../../pagos/store/procesados-store.js'
import { migrations as pagosMigrations } from '../../pagos/store/migrations.js'
import type { PagosDatabase } from '../../pagos/store/schema.js'
import { createCuentasStore } from '../../usuarios/store/cuentas-store.js'
import { migrations as usuariosMigrations } from '../../usuarios/store/migrations.js'
import { createCuentaPagosStore } from '../../usuarios/store/cuenta-pagos-store.js'
import type { UsuariosDatabase } from '../../usuarios/store/schema.js'
import { dialects, freshDatabaseUrl, openTestDb, type Test } from '../helpers/apps.js'

// Several instances of a service on one PostgreSQL database: each "instance"
// here is its own connection pool, as each process has.

async function usuariosInstances (t: Test, n: number) {
  const url = (await freshDatabaseUrl(t, 'postgres', 'usuarios'))!
  const dbs = await Promise.all(Array.from({ length: n }, async () => await openTestDb<UsuariosDatabase>(t, usuariosMigrations, { dialect: 'postgres', url })))
  return dbs.map((db) => ({ db, cuentas: createCuentasStore(db), pagos: createCuentaPagosStore(db, () => {}) }))
}

async function saldoCentimos (db: Awaited<ReturnType<typeof usuariosInstances>>[number]['db'], id: number): Promise<number> {
  return (await db.selectFrom('usuarios').select('saldo_centimos').where('id', '=', id).executeTakeFirstOrThrow()).saldo_centimos
}

t.test('postgres: several instances on one database', { skip: !dialects.includes('postgres') && 'SKIP_POSTGRES=1' }, async (t) => {
  t.test('instances starting together migrate once and create Willis and Ana once', async (t) => {
    const instances = await usuariosInstances(t, 4)
    const seeded = await Promise.all(instances.map(async (i) => await i.cuentas.seed()))
    t.equal(seeded.filter(Boolean).length, 1, 'one instance seeded, the others found the users')
    t.match(await instances[0]!.cuentas.list({ limit: 10, offset: 0 }), {
      total: 2,
      usuarios: [{ id: 1, nombre: 'Willis', saldo: 500 }, { id: 2, nombre: 'Ana', saldo: 700 }]
    })
  })

  t.test('the same Idempotency-Key sent to two instances at once makes one payment', async (t) => {
    const instances = await usuariosInstances(t, 2)
    await instances[0]!.cuentas.seed()
    const results = await Promise.all(Array.from({ length: 20 }, async (_, i) =>
      await instances[i % 2]!.pagos.pagar({ usuarioId: 2, montoCentimos: 2500, concepto: 'x', correlationId: `r-${i}`, idempotencyKey: 'misma' })))
    t.equal(results.filter((r) => r.kind === 'accepted').length, 1, 'one original')
    t.ok(results.every((r) => r.kind === 'accepted' || (r.kind === 'replayed' && r.answer.status === 202)), 'the rest replays of its 202')
    t.equal(new Set(results.map((r) => r.kind === 'accepted' ? r.pago.id : r.kind === 'replayed' ? (r.answer.body as { pago: { id: string } }).pago.id : undefined)).size, 1, 'one payment id')
    const { db } = instances[0]!
    t.equal(Number((await db.selectFrom('pagos').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n), 1)
    t.equal(Number((await db.selectFrom('outbox').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n), 1)
    t.equal(await saldoCentimos(db, 2), 67_500, 'debited once')
  })

  t.test('200 concurrent payments of 10 through two instances on a balance of 500: exactly 50 go through', async (t) => {
    const instances = await usuariosInstances(t, 2)
    await instances[0]!.cuentas.seed()
    const results = await Promise.all(Array.from({ length: 200 }, async (_, i) =>
      await instances[i % 2]!.pagos.pagar({ usuarioId: 1, montoCentimos: 1000, concepto: null, correlationId: `r-${i}` })))
    t.equal(results.filter((r) => r.kind === 'accepted').length, 50)
    t.equal(results.filter((r) => r.kind === 'insufficient-funds').length, 150)
    t.equal(await saldoCentimos(instances[1]!.db, 1), 0, 'saldo 0, never below')
  })

  t.test('two different results for one payment applied by two instances at once: one applies, the other is refused', async (t) => {
    const instances = await usuariosInstances(t, 2)
    await instances[0]!.cuentas.seed()
    for (let round = 0; round < 10; round++) {
      const r = await instances[0]!.pagos.pagar({ usuarioId: 1, montoCentimos: 1000, concepto: null, correlationId: null })
      if (r.kind !== 'accepted') throw new Error(r.kind)
      const pagoId = r.pago.id
      const before = await saldoCentimos(instances[0]!.db, 1)
      const base: PagoProcesadoV1 = { tipo: 'pago.procesado', version: 1, pagoId, usuarioId: 1, montoCentimos: 1000, estado: 'completado', motivo: 'Aprobado', procesadoEn: new Date().toISOString() }
      const [a, b] = await Promise.all([
        instances[0]!.pagos.applyPagoProcesado(base),
        instances[1]!.pagos.applyPagoProcesado({ ...base, estado: 'fallido', motivo: 'Rechazado' })
      ])
      t.same([a.kind, b.kind].sort(), ['applied', 'refused'], `round ${round}: the later one sees the first outcome (row lock), not a stale pendiente`)
      const final = await instances[1]!.pagos.find(1, pagoId)
      if (final.kind !== 'found') throw new Error(final.kind)
      t.equal(await saldoCentimos(instances[0]!.db, 1), final.pago.estado === 'fallido' ? before + 1000 : before, 'refunded only if fallido won')
    }
  })

  t.test('pagos: one pago.solicitado recorded by two instances at once is recorded and announced once', async (t) => {
    const url = (await freshDatabaseUrl(t, 'postgres', 'pagos'))!
    const dbs = await Promise.all([0, 1].map(async () => await openTestDb<PagosDatabase>(t, pagosMigrations, { dialect: 'postgres', url })))
    const stores = dbs.map((db) => createProcesadosStore(db, () => {}))
    const s: PagoSolicitadoV1 = { tipo: 'pago.solicitado', version: 1, pagoId: randomUUID(), usuarioId: 1, montoCentimos: 500, concepto: null, solicitadoEn: new Date().toISOString() }
    const recorded = await Promise.all(Array.from({ length: 10 }, async (_, i) =>
      await stores[i % 2]!.record(s, { estado: 'completado', motivo: 'Aprobado' }, null, new Date().toISOString())))
    t.equal(recorded.filter(Boolean).length, 1, 'one instance recorded it')
    t.same(await stores[1]!.count(), { completados: 1, fallidos: 0 })
    t.equal(Number((await dbs[0]!.selectFrom('outbox').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n), 1, 'one pago.procesado')
  })
})

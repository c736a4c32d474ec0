import { randomUUID } from 'node:crypto'
import fc from 'fast-check'
import t from 'tap'
import { decodeMessage, type ReembolsoProcesadoV1 } from '../../contracts/messages.js'
import type { DialectName } from '../../lib/storage/db.js'
import { createCuentaPagosStore } from '../../usuarios/store/cuenta-pagos-store.js'
import { createCuentasStore } from '../../usuarios/store/cuentas-store.js'
import { migrations } from '../../usuarios/store/migrations.js'
import type { ReembolsarOutcome } from '../../usuarios/store/reembolsos-outcomes.js'
import { createReembolsosStore } from '../../usuarios/store/reembolsos-store.js'
import { createResendStore } from '../../usuarios/store/resend-store.js'
import type { UsuariosDatabase, UsuariosDb } from '../../usuarios/store/schema.js'
import { dialects, freshDatabaseUrl, openTestDb, type Test } from '../helpers/apps.js'

// usuarios' refunds store on SQLite and PostgreSQL: one transaction per
// refund, never more than the payment, credited exactly once.

/** `n` instances (own connection pools) on one fresh database, seeded (Willis 500, Ana 700). */
async function instances (t: Test, dialect: DialectName, n: number) {
  const url = await freshDatabaseUrl(t, dialect, 'usuarios')
  const file = `${t.testdir()}/usuarios.sqlite`
  const at = url === undefined ? { dialect: 'sqlite' as const, file } : { dialect: 'postgres' as const, url }
  const dbs: UsuariosDb[] = []
  for (let i = 0; i < n; i++) dbs.push(await openTestDb<UsuariosDatabase>(t, migrations, at))
  await createCuentasStore(dbs[0]!).seed()
  return dbs.map((db) => ({ db, pagos: createCuentaPagosStore(db, () => {}), reembolsos: createReembolsosStore(db, () => {}) }))
}

/** A payment of `montoCentimos` by usuario 1 (topped up first), completed. */
async function completedPago (i: Awaited<ReturnType<typeof instances>>[number], montoCentimos: number): Promise<string> {
  await createCuentasStore(i.db).recargar(1, montoCentimos)
  const res = await i.pagos.pagar({ usuarioId: 1, montoCentimos, concepto: null, correlationId: null })
  if (res.kind !== 'accepted') throw new Error(res.kind)
  await i.pagos.applyPagoProcesado({ tipo: 'pago.procesado', version: 1, pagoId: res.pago.id, usuarioId: 1, montoCentimos, estado: 'completado', motivo: 'ok', procesadoEn: new Date().toISOString() })
  return res.pago.id
}

const saldo = async (db: UsuariosDb): Promise<number> =>
  (await db.selectFrom('usuarios').select('saldo_centimos').where('id', '=', 1).executeTakeFirstOrThrow()).saldo_centimos

const accepted = (rs: ReembolsarOutcome[]): number => rs.reduce((sum, r) => sum + (r.kind === 'accepted' ? Math.round(r.reembolso.monto * 100) : 0), 0)

function procesado (r: { id: string, pagoId: string, monto: number }, estado: 'completado' | 'fallido'): ReembolsoProcesadoV1 {
  return { tipo: 'reembolso.procesado', version: 1, reembolsoId: r.id, pagoId: r.pagoId, usuarioId: 1, montoCentimos: Math.round(r.monto * 100), estado, motivo: estado === 'fallido' ? 'Rechazado' : 'Aprobado', procesadoEn: new Date().toISOString() }
}

for (const dialect of dialects) {
  t.test(dialect, async (t) => {
    t.test('a refund is recorded pendiente with reembolso.solicitado in the outbox, together', async (t) => {
      const [i] = await instances(t, dialect, 1)
      const pagoId = await completedPago(i!, 10_000)
      await i!.db.deleteFrom('outbox').execute()
      const res = await i!.reembolsos.reembolsar({ usuarioId: 1, pagoId, montoCentimos: 2_500, motivo: 'Roto', correlationId: 'req-r' })
      if (res.kind !== 'accepted') throw new Error(res.kind)
      const outbox = await i!.db.selectFrom('outbox').selectAll().execute()
      t.equal(outbox.length, 1)
      t.equal(outbox[0]!.tipo, 'reembolso.solicitado')
      t.equal(outbox[0]!.message_id, res.reembolso.id, 'messageId is the refund id')
      t.equal(outbox[0]!.correlation_id, 'req-r')
      const decoded = decodeMessage('reembolso.solicitado', outbox[0]!.payload)
      t.ok(decoded.ok, 'the payload honours the contract')
      t.match(decoded.ok && decoded.message, { reembolsoId: res.reembolso.id, pagoId, usuarioId: 1, montoCentimos: 2_500, motivo: 'Roto' })
    })

    t.test('completado credits once, with its movement; a repeat is a duplicate; a contradiction is refused', async (t) => {
      const [i] = await instances(t, dialect, 1)
      const pagoId = await completedPago(i!, 10_000)
      const res = await i!.reembolsos.reembolsar({ usuarioId: 1, pagoId, montoCentimos: 2_500, motivo: null, correlationId: null })
      if (res.kind !== 'accepted') throw new Error(res.kind)
      const before = await saldo(i!.db)
      t.same(await i!.reembolsos.applyReembolsoProcesado(procesado(res.reembolso, 'completado')), { kind: 'applied' })
      t.same(await i!.reembolsos.applyReembolsoProcesado(procesado(res.reembolso, 'completado')), { kind: 'duplicate' })
      t.match(await i!.reembolsos.applyReembolsoProcesado(procesado(res.reembolso, 'fallido')), { kind: 'refused' })
      t.match(await i!.reembolsos.applyReembolsoProcesado({ ...procesado(res.reembolso, 'completado'), montoCentimos: 1 }), { kind: 'refused' })
      t.match(await i!.reembolsos.applyReembolsoProcesado({ ...procesado(res.reembolso, 'completado'), reembolsoId: randomUUID() }), { kind: 'refused' })
      t.equal(await saldo(i!.db), before + 2_500, 'credited once')
      t.match(await i!.pagos.find(1, pagoId), { kind: 'found', pago: { reembolsado: 25 } }, "the payment's view: completed refunds, in money")
      t.match((await i!.pagos.list(1, { limit: 10, offset: 0 }))?.pagos, [{ id: pagoId, reembolsado: 25 }])
      const movs = await i!.db.selectFrom('movimientos').selectAll().where('tipo', '=', 'reembolso').execute()
      t.match(movs, [{ usuario_id: 1, monto_centimos: 2_500, saldo_centimos: before + 2_500, referencia: res.reembolso.id }], 'one movement, the saldo after it')
    })

    t.test('fallido credits nothing and frees the amount', async (t) => {
      const [i] = await instances(t, dialect, 1)
      const pagoId = await completedPago(i!, 1_000)
      const res = await i!.reembolsos.reembolsar({ usuarioId: 1, pagoId, motivo: null, correlationId: null })
      if (res.kind !== 'accepted') throw new Error(res.kind)
      t.match(await i!.reembolsos.reembolsar({ usuarioId: 1, pagoId, montoCentimos: 1, motivo: null, correlationId: null }), { kind: 'exceeds', reembolsableCentimos: 0 })
      const before = await saldo(i!.db)
      await i!.reembolsos.applyReembolsoProcesado(procesado(res.reembolso, 'fallido'))
      t.equal(await saldo(i!.db), before)
      t.match(await i!.reembolsos.find(1, pagoId, res.reembolso.id), { reembolso: { estado: 'fallido', motivoFallo: 'Rechazado' } })
      t.match(await i!.reembolsos.reembolsar({ usuarioId: 1, pagoId, motivo: null, correlationId: null }), { kind: 'accepted', reembolso: { monto: 10 } })
    })

    t.test('concurrent refunds of one payment on two instances never add up to more than it', async (t) => {
      const pair = await instances(t, dialect, 2)
      await fc.assert(fc.asyncProperty(
        fc.array(fc.option(fc.integer({ min: 1, max: 4_000 }), { nil: undefined }), { minLength: 2, maxLength: 12 }),
        async (montos) => {
          const pagoId = await completedPago(pair[0]!, 5_000)
          const results = await Promise.all(montos.map(async (montoCentimos, k) =>
            await pair[k % 2]!.reembolsos.reembolsar({ usuarioId: 1, pagoId, montoCentimos, motivo: null, correlationId: null })))
          const total = accepted(results)
          const recorded = await pair[0]!.db.selectFrom('reembolsos').select((eb) => eb.fn.sum<number>('monto_centimos').as('n')).where('pago_id', '=', pagoId).executeTakeFirstOrThrow()
          return total <= 5_000 && Number(recorded.n ?? 0) === total &&
            results.every((r) => r.kind === 'accepted' || r.kind === 'exceeds')
        }), { numRuns: 15 })
      t.pass('never over the payment')
    })

    t.test('a fixed race: 20 refunds of 10.00 of a 50.00 payment at once, 5 go through', async (t) => {
      const pair = await instances(t, dialect, 2)
      const pagoId = await completedPago(pair[0]!, 5_000)
      const results = await Promise.all(Array.from({ length: 20 }, async (_, k) =>
        await pair[k % 2]!.reembolsos.reembolsar({ usuarioId: 1, pagoId, montoCentimos: 1_000, motivo: null, correlationId: null })))
      t.equal(results.filter((r) => r.kind === 'accepted').length, 5)
      t.equal(results.filter((r) => r.kind === 'exceeds').length, 15)
    })

    t.test('pending refunds count against SALDO_MAXIMO: a completed refund never passes it', async (t) => {
      const [i] = await instances(t, dialect, 1)
      const pagoId = await completedPago(i!, 10_000)
      const cuentas = createCuentasStore(i!.db)
      const res = await i!.reembolsos.reembolsar({ usuarioId: 1, pagoId, montoCentimos: 1_000, motivo: null, correlationId: null })
      if (res.kind !== 'accepted') throw new Error(res.kind)
      const room = 1_000_000_000_000 - await saldo(i!.db)
      t.match(await cuentas.recargar(1, room), { kind: 'saldo-maximo-exceeded', pendienteCentimos: 1_000 }, 'the pending refund counts for a top-up')
      t.match(await cuentas.recargar(1, room - 1_000), { kind: 'topped-up' })
      t.match(await i!.reembolsos.reembolsar({ usuarioId: 1, pagoId, montoCentimos: 1, motivo: null, correlationId: null }), { kind: 'saldo-maximo-exceeded', montoCentimos: 1 },
        'a refund that would not fit is refused')
      t.same(await i!.reembolsos.applyReembolsoProcesado(procesado(res.reembolso, 'completado')), { kind: 'applied' })
      t.equal(await saldo(i!.db), 1_000_000_000_000, 'exactly at the ceiling, never past it')
    })

    t.test('two refunds of different payments racing near SALDO_MAXIMO on two instances: only one fits', async (t) => {
      const pair = await instances(t, dialect, 2)
      const a = await completedPago(pair[0]!, 1_000)
      const b = await completedPago(pair[0]!, 1_000)
      await createCuentasStore(pair[0]!.db).recargar(1, 1_000_000_000_000 - 1_500 - await saldo(pair[0]!.db))
      for (let round = 0; round < 5; round++) {
        const results = await Promise.all([a, b].map(async (pagoId, k) =>
          await pair[k]!.reembolsos.reembolsar({ usuarioId: 1, pagoId, montoCentimos: 1_000, motivo: null, correlationId: null })))
        const ok = results.filter((r) => r.kind === 'accepted')
        t.equal(ok.length, round === 0 ? 1 : 0, `round ${round}: ${results.map((r) => r.kind).join(', ')}`)
      }
    })

    t.test('the re-send sweep asks again for a refund still pendiente past the bound, with the same message', async (t) => {
      const [i] = await instances(t, dialect, 1)
      const pagoId = await completedPago(i!, 3_000)
      const res = await i!.reembolsos.reembolsar({ usuarioId: 1, pagoId, montoCentimos: 700, motivo: 'x', correlationId: 'req-s' })
      if (res.kind !== 'accepted') throw new Error(res.kind)
      const sweep = createResendStore(i!.db, () => {})
      t.equal(await sweep.resendOverdue(0, 100), 0, 'not while its first request still waits in the outbox')
      const [first] = await i!.db.selectFrom('outbox').selectAll().where('tipo', '=', 'reembolso.solicitado').execute()
      await i!.db.deleteFrom('outbox').execute()
      t.equal(await sweep.resendOverdue(60_000, 100), 0, 'not before the bound')
      t.equal(await sweep.resendOverdue(0, 100), 1, 'past the bound: re-sent')
      const again = await i!.db.selectFrom('outbox').selectAll().execute()
      t.match(again, [{ tipo: 'reembolso.solicitado', message_id: res.reembolso.id, correlation_id: 'req-s', payload: first!.payload }], 'the same message')
      await i!.db.deleteFrom('outbox').execute()
      await i!.reembolsos.applyReembolsoProcesado(procesado(res.reembolso, 'completado'))
      t.equal(await sweep.resendOverdue(0, 100), 0, 'a settled refund is never asked again')
    })
  })
}

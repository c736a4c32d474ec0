import t from 'tap'
import { decodeMessage, type PagoProcesadoV1 } from '../../contracts/messages.js'
import { recargarAnswer } from '../../usuarios/answers.js'
import { createCuentasStore } from '../../usuarios/store/cuentas-store.js'
import { purgeIdempotencyKeys } from '../../usuarios/store/idempotency.js'
import { createCuentaPagosStore } from '../../usuarios/store/cuenta-pagos-store.js'
import type { UsuariosDb } from '../../usuarios/store/schema.js'
import type { DialectName } from '../../lib/storage/db.js'
import { dialects, usuariosDb, type Test } from '../helpers/apps.js'

/** A seeded database (Willis 500, Ana 700) with both stores; counts relay wake-ups. */
async function stores (t: Test, dialect: DialectName) {
  const db = await usuariosDb(t, dialect)
  const cuentas = createCuentasStore(db)
  await cuentas.seed()
  const notified = { n: 0 }
  const pagos = createCuentaPagosStore(db, () => { notified.n++ })
  return { db, cuentas, pagos, notified }
}

async function saldoCentimos (db: UsuariosDb, id: number): Promise<number> {
  return (await db.selectFrom('usuarios').select('saldo_centimos').where('id', '=', id).executeTakeFirstOrThrow()).saldo_centimos
}

async function count (db: UsuariosDb, table: 'pagos' | 'outbox' | 'idempotencia' | 'usuarios'): Promise<number> {
  const { n } = await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
  return Number(n)
}

function resultado (pagoId: string, over: Partial<PagoProcesadoV1> = {}): PagoProcesadoV1 {
  return { tipo: 'pago.procesado', version: 1, pagoId, usuarioId: 1, montoCentimos: 10_000, estado: 'completado', motivo: 'Aprobado', procesadoEn: new Date().toISOString(), ...over }
}

// The same suite on SQLite and on PostgreSQL (a fresh database per test).
for (const dialect of dialects) {
  t.test(dialect, async (t) => {
    t.test('a payment debits, records it pendiente and writes pago.solicitado to the outbox, together', async (t) => {
      const { db, pagos, notified } = await stores(t, dialect)
      const res = await pagos.pagar({ usuarioId: 1, montoCentimos: 10_000, concepto: 'Libro', correlationId: 'req-1' })
      t.equal(res.kind, 'accepted')
      t.equal(await saldoCentimos(db, 1), 40_000)

      const rows = await db.selectFrom('pagos').selectAll().execute()
      t.equal(rows.length, 1, 'one payment row')
      const pago = rows[0]!
      t.match(pago, { usuario_id: 1, monto_centimos: 10_000, concepto: 'Libro', estado: 'pendiente', motivo: null, correlation_id: 'req-1' })

      const outbox = await db.selectFrom('outbox').selectAll().execute()
      t.equal(outbox.length, 1, 'one outbox row')
      const row = outbox[0]!
      t.equal(row.tipo, 'pago.solicitado')
      t.equal(row.message_id, pago.id, 'message id is the payment id')
      t.equal(row.correlation_id, 'req-1', 'correlation id is the request id')
      const decoded = decodeMessage('pago.solicitado', row.payload)
      t.ok(decoded.ok, 'the payload honours the contract')
      if (decoded.ok) {
        t.match(decoded.message, { tipo: 'pago.solicitado', version: 1, pagoId: pago.id, usuarioId: 1, montoCentimos: 10_000, concepto: 'Libro' })
      }
      t.equal(notified.n, 1, 'the relay is woken once')
    })

    t.test('insufficient funds write nothing at all', async (t) => {
      const { db, pagos, notified } = await stores(t, dialect)
      const res = await pagos.pagar({ usuarioId: 1, montoCentimos: 50_001, concepto: null, correlationId: 'req-2', idempotencyKey: 'k' })
      t.same(res, { kind: 'insufficient-funds', saldoCentimos: 50_000, montoCentimos: 50_001 })
      t.equal(await saldoCentimos(db, 1), 50_000, 'saldo unchanged')
      t.equal(await count(db, 'pagos'), 0, 'no payment')
      t.equal(await count(db, 'outbox'), 0, 'no outbox row')
      t.equal(notified.n, 0, 'nothing to publish')
    })

    t.test('an unknown user pays nothing', async (t) => {
      const { db, pagos } = await stores(t, dialect)
      t.same(await pagos.pagar({ usuarioId: 999, montoCentimos: 100, concepto: null, correlationId: null }), { kind: 'usuario-not-found' })
      t.same(await pagos.pagar({ usuarioId: 999, montoCentimos: 100, concepto: null, correlationId: null, idempotencyKey: 'k' }), { kind: 'usuario-not-found' })
      t.equal(await count(db, 'idempotencia'), 0, 'the key is not kept')
      t.equal(await count(db, 'pagos'), 0)
      t.equal(await count(db, 'outbox'), 0)
    })

    t.test('200 concurrent payments of 10 on a balance of 500: exactly 50 go through', async (t) => {
      const { db, pagos } = await stores(t, dialect)
      const results = await Promise.all(Array.from({ length: 200 }, async (_, i) =>
        await pagos.pagar({ usuarioId: 1, montoCentimos: 1000, concepto: null, correlationId: `r-${i}` })))
      const accepted = results.flatMap((r) => r.kind === 'accepted' ? [r] : [])
      t.equal(accepted.length, 50, '50 accepted')
      t.equal(results.filter((r) => r.kind === 'insufficient-funds').length, 150, 'the rest refused')
      t.equal(await saldoCentimos(db, 1), 0, 'saldo ends at 0')
      const saldos = accepted.map((r) => r.usuario.saldo)
      t.ok(saldos.every((s) => s >= 0), 'never negative')
      t.equal(new Set(saldos).size, 50, 'every accepted payment saw its own balance')
      t.equal(await count(db, 'pagos'), 50, '50 payments')
      t.equal(await count(db, 'outbox'), 50, '50 outbox rows')
      t.equal(await saldoCentimos(db, 2), 70_000, 'the other user is untouched')
    })

    t.test('20 concurrent requests with the same Idempotency-Key make one payment', async (t) => {
      const { db, pagos, notified } = await stores(t, dialect)
      const results = await Promise.all(Array.from({ length: 20 }, async (_, i) =>
        await pagos.pagar({ usuarioId: 2, montoCentimos: 2500, concepto: 'x', correlationId: `r-${i}`, idempotencyKey: 'misma' })))
      t.equal(results.filter((r) => r.kind === 'accepted').length, 1, 'one original')
      t.ok(results.every((r) => r.kind === 'accepted' || (r.kind === 'replayed' && r.answer.status === 202)), 'the rest replays of its 202')
      const ids = new Set(results.map((r) => r.kind === 'accepted' ? r.pago.id : r.kind === 'replayed' ? (r.answer.body as { pago: { id: string } }).pago.id : undefined))
      t.equal(ids.size, 1, 'one payment id')
      t.equal(await count(db, 'pagos'), 1)
      t.equal(await count(db, 'outbox'), 1)
      t.equal(await count(db, 'idempotencia'), 1)
      t.equal(await saldoCentimos(db, 2), 67_500, 'one debit')
      t.equal(notified.n, 1)
    })

    t.test('applying a pago.procesado', async (t) => {
      const { db, pagos } = await stores(t, dialect)
      const pagar = async (): Promise<string> => {
        const r = await pagos.pagar({ usuarioId: 1, montoCentimos: 10_000, concepto: null, correlationId: null })
        if (r.kind !== 'accepted') throw new Error(r.kind)
        return r.pago.id
      }

      t.test('completado finalises the payment and keeps the debit', async (t) => {
        const id = await pagar()
        const before = await saldoCentimos(db, 1)
        t.same(await pagos.applyPagoProcesado(resultado(id)), { kind: 'applied' })
        t.equal(await saldoCentimos(db, 1), before)
        t.match(await pagos.find(1, id), { kind: 'found', pago: { estado: 'completado', motivo: 'Aprobado' } })
        t.same(await pagos.applyPagoProcesado(resultado(id)), { kind: 'duplicate' }, 'a repeat is a duplicate')
        t.equal(await saldoCentimos(db, 1), before)
      })

      t.test('fallido refunds exactly once', async (t) => {
        const id = await pagar()
        const before = await saldoCentimos(db, 1)
        const fallido = resultado(id, { estado: 'fallido', motivo: 'Rechazado por el proveedor' })
        t.same(await pagos.applyPagoProcesado(fallido), { kind: 'applied' })
        t.equal(await saldoCentimos(db, 1), before + 10_000, 'refunded')
        t.same(await pagos.applyPagoProcesado(fallido), { kind: 'duplicate' })
        t.equal(await saldoCentimos(db, 1), before + 10_000, 'refunded once')
        t.match(await pagos.find(1, id), { kind: 'found', pago: { estado: 'fallido', motivo: 'Rechazado por el proveedor' } })
      })

      t.test('concurrent duplicates of a fallido refund once', async (t) => {
        const id = await pagar()
        const before = await saldoCentimos(db, 1)
        const fallido = resultado(id, { estado: 'fallido', motivo: 'Rechazado' })
        const kinds = (await Promise.all(Array.from({ length: 10 }, async () => await pagos.applyPagoProcesado(fallido)))).map((r) => r.kind)
        t.equal(kinds.filter((k) => k === 'applied').length, 1)
        t.equal(kinds.filter((k) => k === 'duplicate').length, 9)
        t.equal(await saldoCentimos(db, 1), before + 10_000)
      })

      t.test('an unknown payment is refused with a reason', async (t) => {
        const r = await pagos.applyPagoProcesado(resultado('00000000-0000-4000-8000-000000000000'))
        t.equal(r.kind, 'refused')
        if (r.kind === 'refused') t.match(r.reason, /desconocido/)
      })

      t.test('a result whose amount or user differ from the record is refused and changes nothing', async (t) => {
        const id = await pagar()
        const before = await saldoCentimos(db, 1)
        for (const over of [{ montoCentimos: 9_999 }, { usuarioId: 2 }]) {
          const r = await pagos.applyPagoProcesado(resultado(id, { ...over, estado: 'fallido' }))
          t.equal(r.kind, 'refused', JSON.stringify(over))
          if (r.kind === 'refused') t.match(r.reason, /no coinciden/)
        }
        t.equal(await saldoCentimos(db, 1), before)
        t.equal(await saldoCentimos(db, 2), 70_000)
        t.match(await pagos.find(1, id), { kind: 'found', pago: { estado: 'pendiente' } })
      })

      t.test('a result that contradicts a final one is refused', async (t) => {
        const id = await pagar()
        await pagos.applyPagoProcesado(resultado(id))
        const before = await saldoCentimos(db, 1)
        const r = await pagos.applyPagoProcesado(resultado(id, { estado: 'fallido', motivo: 'tarde' }))
        t.equal(r.kind, 'refused')
        if (r.kind === 'refused') t.match(r.reason, /ya está completado/)
        t.equal(await saldoCentimos(db, 1), before, 'no refund of a completed payment')
        t.match(await pagos.find(1, id), { kind: 'found', pago: { estado: 'completado' } })
      })
    })

    t.test('the original users are seeded once', async (t) => {
      const db = await usuariosDb(t, dialect)
      const cuentas = createCuentasStore(db)
      t.equal(await cuentas.seed(), true, 'first start seeds')
      t.equal(await cuentas.seed(), false, 'second start does not')
      t.equal(await count(db, 'usuarios'), 2)
      t.match(await cuentas.list({ limit: 10, offset: 0 }), { total: 2, usuarios: [{ id: 1, nombre: 'Willis', saldo: 500 }, { id: 2, nombre: 'Ana', saldo: 700 }] })
    })

    t.test('a top-up with a key adds once', async (t) => {
      const { db, cuentas } = await stores(t, dialect)
      const a = await cuentas.recargar(1, 1234, 'r1')
      const b = await cuentas.recargar(1, 1234, 'r1')
      t.equal(a.kind, 'topped-up')
      t.equal(b.kind, 'replayed')
      if (a.kind === 'topped-up' && b.kind === 'replayed') t.same(b.answer, recargarAnswer(a))
      t.equal(await saldoCentimos(db, 1), 51_234)
      t.same(await cuentas.recargar(1, 1, 'r1'), { kind: 'key-reused' })
      t.equal(await saldoCentimos(db, 1), 51_234)
    })

    t.test('balances beyond 32 bits stay exact integers (bigint on PostgreSQL)', async (t) => {
      const { db, cuentas, pagos } = await stores(t, dialect)
      const rico = await cuentas.create('Rico', 100_000_000_000)
      t.equal(rico.saldo, 1_000_000_000)
      await cuentas.recargar(rico.id, 100_000_000_000)
      const r = await pagos.pagar({ usuarioId: rico.id, montoCentimos: 1, concepto: null, correlationId: null })
      t.match(r, { kind: 'accepted', usuario: { saldo: 1_999_999_999.99 } })
      const saldo = await saldoCentimos(db, rico.id)
      t.equal(typeof saldo, 'number', 'read back as a JS number')
      t.equal(saldo, 199_999_999_999)
    })

    t.test('expired Idempotency-Keys are purged, recent ones kept', async (t) => {
      const db = await usuariosDb(t, dialect)
      const hoursAgo = (h: number): string => new Date(Date.now() - h * 3_600_000).toISOString()
      const key = (clave: string, creadoEn: string) => ({ usuario_id: 1, operacion: 'pagar' as const, clave, huella: 'h', status: 202, respuesta: '{}', creado_en: creadoEn })
      await db.insertInto('idempotencia').values([
        key('antigua', hoursAgo(48)),
        key('justo-pasada', hoursAgo(24.1)),
        key('casi', hoursAgo(23.9)),
        key('nueva', hoursAgo(0))
      ]).execute()
      t.equal(await purgeIdempotencyKeys(db, 24), 2, 'two keys older than 24 h')
      const left = (await db.selectFrom('idempotencia').select('clave').orderBy('clave').execute()).map((r) => r.clave)
      t.same(left, ['casi', 'nueva'])
      t.equal(await purgeIdempotencyKeys(db, 24), 0, 'nothing more to purge')
    })
  })
}

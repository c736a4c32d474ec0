import { randomUUID } from 'node:crypto'
import t from 'tap'
import { decodeMessage, type PagoProcesadoV1, type PagoSolicitadoV1 } from '../../contracts/messages.js'
import type { DialectName } from '../../lib/storage/db.js'
import { createProcesadosStore } from '../../pagos/store/procesados-store.js'
import { createCuentaPagosStore, type PagarOutcome } from '../../usuarios/store/cuenta-pagos-store.js'
import { createCuentasStore } from '../../usuarios/store/cuentas-store.js'
import { migrations as usuariosMigrations } from '../../usuarios/store/migrations.js'
import type { UsuariosDatabase, UsuariosDb } from '../../usuarios/store/schema.js'
import { dialects, freshDatabaseUrl, openTestDb, pagosDb, usuariosDb, type Test } from '../helpers/apps.js'
import { storedStatementViolations } from '../helpers/statement.js'

// The three steps of a payment write the same rows on both dialects, though
// on PostgreSQL each is one statement (usuarios/store/one-statement.ts,
// pagos/store/procesados-store.ts) and the results of one turn go together.

async function usuarios (t: Test, dialect: DialectName) {
  const db = await usuariosDb(t, dialect)
  const cuentas = createCuentasStore(db)
  const pagos = createCuentaPagosStore(db, () => {})
  return { db, cuentas, pagos }
}

const saldo = async (db: UsuariosDb, id: number): Promise<number> =>
  (await db.selectFrom('usuarios').select('saldo_centimos').where('id', '=', id).executeTakeFirstOrThrow()).saldo_centimos

function resultado (pagoId: string, usuarioId: number, montoCentimos: number, over: Partial<PagoProcesadoV1> = {}): PagoProcesadoV1 {
  return { tipo: 'pago.procesado', version: 1, pagoId, usuarioId, montoCentimos, estado: 'completado', motivo: 'Aprobado', procesadoEn: new Date().toISOString(), ...over }
}

for (const dialect of dialects) {
  t.test(dialect, async (t) => {
    t.test('a payment writes its debit, its pago movement and its pago.solicitado, dated alike', async (t) => {
      const { db, cuentas, pagos } = await usuarios(t, dialect)
      const u = await cuentas.create('Rosa', 10_000)
      const r = await pagos.pagar({ usuarioId: u.id, montoCentimos: 2_550, concepto: 'café', correlationId: 'req-1' })
      if (r.kind !== 'accepted') throw new Error(r.kind)
      t.match(r, { usuario: { id: u.id, nombre: 'Rosa', saldo: 74.5 }, pago: { usuarioId: u.id, estado: 'pendiente', monto: 25.5, concepto: 'café', motivo: null } })
      t.equal(r.pago.creadoEn, r.pago.actualizadoEn)
      t.ok(r.pago.creadoEn.endsWith('Z') && new Date(r.pago.creadoEn).toISOString() === r.pago.creadoEn, 'creadoEn as toISOString writes it')
      t.equal(await saldo(db, u.id), 7_450)
      const movimiento = await db.selectFrom('movimientos').selectAll().where('usuario_id', '=', u.id).where('tipo', '=', 'pago').executeTakeFirstOrThrow()
      t.match(movimiento, { monto_centimos: -2_550, saldo_centimos: 7_450, referencia: r.pago.id, creado_en: r.pago.creadoEn })
      const row = await db.selectFrom('pagos').selectAll().where('id', '=', r.pago.id).executeTakeFirstOrThrow()
      t.match(row, { usuario_id: u.id, monto_centimos: 2_550, concepto: 'café', estado: 'pendiente', motivo: null, correlation_id: 'req-1', creado_en: r.pago.creadoEn, actualizado_en: r.pago.creadoEn })
      const outbox = await db.selectFrom('outbox').selectAll().execute()
      t.equal(outbox.length, 1)
      t.match(outbox[0], { tipo: 'pago.solicitado', message_id: r.pago.id, correlation_id: 'req-1' })
      const decoded = decodeMessage('pago.solicitado', JSON.parse(outbox[0]!.payload))
      t.same(decoded, { ok: true, message: { tipo: 'pago.solicitado', version: 1, pagoId: r.pago.id, usuarioId: u.id, montoCentimos: 2_550, concepto: 'café', solicitadoEn: r.pago.creadoEn } } as any, 'a valid message, solicitadoEn = creadoEn')
    })

    t.test('payments of one turn for one usuario: each sees the saldo the earlier ones left', async (t) => {
      const { db, cuentas, pagos } = await usuarios(t, dialect)
      const u = await cuentas.create('Sol', 1_000)
      const rs = await Promise.all([100, 200, 300].map(async (c) => await pagos.pagar({ usuarioId: u.id, montoCentimos: c, concepto: null, correlationId: null })))
      t.same(rs.map((r) => r.kind === 'accepted' ? r.usuario.saldo : r.kind), [9, 7, 4], 'each answer shows the saldo right after its payment')
      const movimientos = await db.selectFrom('movimientos').selectAll().where('usuario_id', '=', u.id).orderBy('id').execute()
      t.same(movimientos.map((m) => [m.tipo, m.monto_centimos, m.saldo_centimos]), [['alta', 1_000, 1_000], ['pago', -100, 900], ['pago', -200, 700], ['pago', -300, 400]], 'one movement each, in order')
      t.equal(await saldo(db, u.id), 400)
    })

    t.test('a payment of the turn that does not fit is refused; a smaller one after it may still fit', async (t) => {
      const { db, cuentas, pagos } = await usuarios(t, dialect)
      const u = await cuentas.create('Gil', 1_000)
      const montos = [400, 700, 300, 400]
      const rs = await Promise.all(montos.map(async (c) => await pagos.pagar({ usuarioId: u.id, montoCentimos: c, concepto: null, correlationId: null })))
      t.ok(rs.every((r) => r.kind === 'accepted' || r.kind === 'insufficient-funds'), 'each accepted or refused')
      const debited = montos.filter((_, i) => rs[i]!.kind === 'accepted').reduce((a, b) => a + b, 0)
      t.ok(debited <= 1_000, 'never more than the saldo')
      t.equal(await saldo(db, u.id), 1_000 - debited, 'saldo = initial - accepted')
      const refused = montos.filter((_, i) => rs[i]!.kind !== 'accepted')
      t.ok(refused.length > 0 && refused.every((c) => c > 1_000 - debited), 'each refused one did not fit in what was left (none refused that fitted)')
      t.equal(rs.filter((r) => r.kind === 'accepted').length, 2, 'two of them fit, whatever the order')
      t.equal((await db.selectFrom('pagos').select('id').execute()).length, 2)
      t.equal((await db.selectFrom('outbox').select('id').execute()).length, 2)
      const chain = await db.selectFrom('movimientos').selectAll().where('usuario_id', '=', u.id).orderBy('id').execute()
      t.ok(chain.every((m, i) => i === 0 || m.saldo_centimos === chain[i - 1]!.saldo_centimos + m.monto_centimos), 'every movement follows from the one before')
    })

    t.test('insufficient funds and an unknown usuario write nothing', async (t) => {
      const { db, cuentas, pagos } = await usuarios(t, dialect)
      const u = await cuentas.create('Leo', 1_000)
      t.same(await pagos.pagar({ usuarioId: u.id, montoCentimos: 1_001, concepto: null, correlationId: null }), { kind: 'insufficient-funds', saldoCentimos: 1_000, montoCentimos: 1_001 })
      t.same(await pagos.pagar({ usuarioId: 9_999, montoCentimos: 1, concepto: null, correlationId: null }), { kind: 'usuario-not-found' })
      t.equal(await saldo(db, u.id), 1_000)
      t.equal((await db.selectFrom('pagos').select('id').execute()).length, 0)
      t.equal((await db.selectFrom('outbox').select('id').execute()).length, 0)
      t.equal((await db.selectFrom('movimientos').select('id').where('tipo', '=', 'pago').execute()).length, 0)
    })

    t.test('results of one turn: each payment completes once, a copy is a duplicate, a mismatch is refused', async (t) => {
      const { db, cuentas, pagos } = await usuarios(t, dialect)
      const u = await cuentas.create('Iris', 100_000)
      const ids: string[] = []
      for (let i = 0; i < 8; i++) {
        const r = await pagos.pagar({ usuarioId: u.id, montoCentimos: 1_000, concepto: null, correlationId: null })
        if (r.kind !== 'accepted') throw new Error(r.kind)
        ids.push(r.pago.id)
      }
      const messages = [
        ...ids.slice(0, 6).map((id) => resultado(id, u.id, 1_000)),
        resultado(ids[0]!, u.id, 1_000), // a copy of the first, in the same turn
        resultado(ids[6]!, u.id, 999), // an amount that does not match
        resultado(randomUUID(), u.id, 1_000) // a payment never made
      ]
      const outcomes = await Promise.all(messages.map(async (m) => await pagos.applyPagoProcesado(m)))
      t.same(outcomes.slice(0, 6).map((o) => o.kind), Array(6).fill('applied'))
      t.same(outcomes[6], { kind: 'duplicate' })
      t.match(outcomes[7], { kind: 'refused', reason: /no coinciden/ })
      t.match(outcomes[8], { kind: 'refused', reason: /desconocido/ })
      const estados = await db.selectFrom('pagos').select(['id', 'estado']).execute()
      t.same(estados.filter((p) => p.estado === 'completado').map((p) => p.id).sort(), ids.slice(0, 6).sort())
      t.equal(await saldo(db, u.id), 100_000 - 8 * 1_000, 'a completed payment moves no money')
    })

    t.test('a fallido result refunds once, with its devolucion movement', async (t) => {
      const { db, cuentas, pagos } = await usuarios(t, dialect)
      const u = await cuentas.create('Teo', 5_000)
      const r = await pagos.pagar({ usuarioId: u.id, montoCentimos: 1_200, concepto: null, correlationId: null })
      if (r.kind !== 'accepted') throw new Error(r.kind)
      const m = resultado(r.pago.id, u.id, 1_200, { estado: 'fallido', motivo: 'Rechazado' })
      const outcomes = await Promise.all([m, m, m].map(async (x) => await pagos.applyPagoProcesado(x)))
      t.same(outcomes.map((o) => o.kind).sort(), ['applied', 'duplicate', 'duplicate'])
      t.equal(await saldo(db, u.id), 5_000)
      const devoluciones = await db.selectFrom('movimientos').selectAll().where('tipo', '=', 'devolucion').execute()
      t.equal(devoluciones.length, 1, 'one refund movement')
      t.match(devoluciones[0], { usuario_id: u.id, monto_centimos: 1_200, saldo_centimos: 5_000, referencia: r.pago.id })
      const pago = await db.selectFrom('pagos').selectAll().where('id', '=', r.pago.id).executeTakeFirstOrThrow()
      t.match(pago, { estado: 'fallido', motivo: 'Rechazado' })
      t.ok(devoluciones[0]!.creado_en >= pago.creado_en, 'dated after the payment')
    })

    t.test('pagos: results of one turn are each recorded and announced once, a copy is not', async (t) => {
      const db = await pagosDb(t, dialect)
      const store = createProcesadosStore(db, () => {})
      const solicitud = (montoCentimos: number): PagoSolicitadoV1 => ({ tipo: 'pago.solicitado', version: 1, pagoId: randomUUID(), usuarioId: 7, montoCentimos, concepto: montoCentimos === 300 ? null : 'x', solicitadoEn: new Date().toISOString() })
      const s = [solicitud(100), solicitud(200), solicitud(300)]
      const recorded = await Promise.all([...s, s[1]!].map(async (x, i) =>
        await store.record(x, i === 2 ? { estado: 'fallido', motivo: 'Rechazado' } : { estado: 'completado', motivo: 'Aprobado' }, `c-${i}`, new Date().toISOString())))
      t.same(recorded, [true, true, true, false])
      t.same(await Promise.all([...s.map((x) => x.pagoId), randomUUID()].map(async (id) => await store.isRecorded(id))), [true, true, true, false])
      const outbox = await db.selectFrom('outbox').selectAll().orderBy('id').execute()
      t.equal(outbox.length, 3, 'one pago.procesado per payment')
      const bodies = outbox.map((o) => decodeMessage('pago.procesado', JSON.parse(o.payload)))
      t.ok(bodies.every((b) => b.ok), 'valid messages')
      t.same(outbox.map((o) => o.message_id).sort(), s.map((x) => x.pagoId).sort())
      t.match(await store.find(s[2]!.pagoId), { estado: 'fallido', motivo: 'Rechazado', concepto: null, monto: 3, correlationId: 'c-2' })
      t.match(await store.find(s[1]!.pagoId), { estado: 'completado', correlationId: 'c-1' }, 'the first copy is the one recorded')
    })
  })
}

t.test('postgres: two instances paying for the same usuarios in batches at once never deadlock and move each payment once', { skip: !dialects.includes('postgres') && 'SKIP_POSTGRES=1' }, async (t) => {
  const url = (await freshDatabaseUrl(t, 'postgres', 'usuarios'))!
  const dbs = await Promise.all([0, 1].map(async () => await openTestDb<UsuariosDatabase>(t, usuariosMigrations, { dialect: 'postgres', url })))
  const stores = dbs.map((db) => createCuentaPagosStore(db, () => {}))
  const cuentas = createCuentasStore(dbs[0]!)
  const ids: number[] = []
  for (let i = 0; i < 6; i++) ids.push((await cuentas.create(`U${i}`, 5_000)).id)
  // 400 payments of 1.00, about 66 per usuario: 50 fit in each saldo of 50.00.
  // Each instance's batches take the usuarios in a different order of arrival.
  const rs = await Promise.all(Array.from({ length: 400 }, async (_, k) => {
    const n = Math.floor(k / 2) % 6
    const usuarioId = k % 2 === 0 ? ids[n]! : ids[5 - n]!
    return { usuarioId, r: await stores[k % 2]!.pagar({ usuarioId, montoCentimos: 100, concepto: null, correlationId: null }) }
  }))
  t.ok(rs.every(({ r }) => r.kind === 'accepted' || r.kind === 'insufficient-funds'), 'every payment accepted or refused, none failed')
  const db = dbs[0]!
  for (const id of ids) {
    const accepted = rs.filter(({ usuarioId, r }) => usuarioId === id && r.kind === 'accepted').length
    t.equal(accepted, 50, `usuario ${id}: exactly the 50 payments of 1.00 that fit in 50.00`)
    t.equal(await saldo(db, id), 0)
    const pagosIds = (await db.selectFrom('pagos').select('id').where('usuario_id', '=', id).execute()).map((p) => p.id)
    t.equal(pagosIds.length, accepted, 'one payment row each')
    t.equal((await db.selectFrom('movimientos').select('id').where('usuario_id', '=', id).where('tipo', '=', 'pago').execute()).length, accepted, 'one movement each')
    t.equal((await db.selectFrom('outbox').select('id').where('message_id', 'in', pagosIds).execute()).length, accepted, 'one pago.solicitado each')
  }
})

t.test('postgres: two instances racing batches over the same two usuarios move every payment exactly once and keep each statement consistent', { skip: !dialects.includes('postgres') && 'SKIP_POSTGRES=1' }, async (t) => {
  const url = (await freshDatabaseUrl(t, 'postgres', 'usuarios'))!
  const dbs = await Promise.all([0, 1].map(async () => await openTestDb<UsuariosDatabase>(t, usuariosMigrations, { dialect: 'postgres', url })))
  const stores = dbs.map((db) => createCuentaPagosStore(db, () => {}))
  const cuentas = createCuentasStore(dbs[0]!)
  const ids = [(await cuentas.create('A', 100_000)).id, (await cuentas.create('B', 100_000)).id]
  // 600 payments of 1.00 to 3.00, in waves of 60 so that batches keep meeting on the same rows; all fit.
  const rs: Array<{ usuarioId: number, montoCentimos: number, r: PagarOutcome }> = []
  for (let wave = 0; wave < 10; wave++) {
    rs.push(...await Promise.all(Array.from({ length: 60 }, async (_, k) => {
      const usuarioId = ids[(k >> 1) % 2]!
      const montoCentimos = 100 * (1 + (k % 3))
      return { usuarioId, montoCentimos, r: await stores[k % 2]!.pagar({ usuarioId, montoCentimos, concepto: null, correlationId: null }) }
    })))
  }
  t.same(rs.filter(({ r }) => r.kind !== 'accepted').map(({ r }) => r.kind), [], 'every payment accepted, none failed')
  const db = dbs[0]!
  for (const id of ids) {
    const mine = rs.filter(({ usuarioId }) => usuarioId === id)
    const debited = mine.reduce((sum, { montoCentimos }) => sum + montoCentimos, 0)
    t.equal(await saldo(db, id), 100_000 - debited, `usuario ${id}: debited exactly the sum of its ${mine.length} payments`)
    const rows = await db.selectFrom('pagos').select('id').where('usuario_id', '=', id).execute()
    t.same(new Set(rows.map((p) => p.id)), new Set(mine.map(({ r }) => r.kind === 'accepted' ? r.pago.id : '')), 'one payment row per accepted payment')
    t.equal((await db.selectFrom('movimientos').select('id').where('usuario_id', '=', id).where('tipo', '=', 'pago').execute()).length, mine.length, 'one movement each')
    t.same(await storedStatementViolations(db, id), [], 'the statement adds up, movement by movement')
  }
})

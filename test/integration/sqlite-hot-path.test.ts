import Database from 'better-sqlite3'
import t from 'tap'
import type { PagoSolicitadoV1 } from '../../contracts/messages.js'
import { createProcesadosStore } from '../../pagos/store/procesados-store.js'
import { createTransact } from '../../lib/storage/group-commit.js'
import { outboxClaim } from '../../lib/storage/outbox-claim.js'
import { createCuentaPagosStore } from '../../usuarios/store/cuenta-pagos-store.js'
import { createCuentasStore } from '../../usuarios/store/cuentas-store.js'
import { pagosDb, usuariosDb } from '../helpers/apps.js'

// On SQLite the hot steps of a payment are hand-written statements
// (usuarios/store/sqlite-hot.ts, pagos/store/sqlite-hot.ts, the group
// commit's savepoints, the relay's claim): no Kysely query runs for them.
// Kysely quotes every identifier it writes ("pagos"); the hand-written
// statements and BEGIN/COMMIT never do, so a quote in an executed SQL text
// is a Kysely query on the hot path.

/** The SQL text of every better-sqlite3 statement executed while `work` runs. */
async function executed (work: () => Promise<void>): Promise<string[]> {
  const probe = new Database(':memory:')
  const proto = Object.getPrototypeOf(probe.prepare('select 1')) as Record<'run' | 'get' | 'all', (...args: unknown[]) => unknown>
  probe.close()
  const texts: string[] = []
  const originals = { run: proto.run, get: proto.get, all: proto.all }
  for (const name of ['run', 'get', 'all'] as const) {
    const original = originals[name]
    proto[name] = function (this: { source: string }, ...args: unknown[]) {
      texts.push(this.source.replace(/\s+/g, ' ').trim())
      return original.apply(this, args)
    }
  }
  try {
    await work()
  } finally {
    Object.assign(proto, originals)
  }
  return texts
}

const kyselyQueries = (texts: string[]): string[] => texts.filter((s) => s.includes('"'))

t.test('usuarios: payments of one turn, their completado results and the relay claim run no Kysely query', async (t) => {
  const db = await usuariosDb(t, 'sqlite')
  const transact = createTransact(db)
  const cuentas = createCuentasStore(db)
  const pagos = createCuentaPagosStore(db, () => {}, transact)
  const u = await cuentas.create('Lía', 10_000)
  const claim = outboxClaim(db, transact)
  await claim(db, 100, async () => {}) // the alta has no outbox row; statements compiled once

  let solicitados: string[] = []
  const texts = await executed(async () => {
    const rs = await Promise.all([100, 200, 300].map(async (c) => await pagos.pagar({ usuarioId: u.id, montoCentimos: c, concepto: null, correlationId: 'r' })))
    t.same(rs.map((r) => r.kind), ['accepted', 'accepted', 'accepted'])
    t.equal(await claim(db, 100, async (rows) => { solicitados = rows.map((r) => r.message_id) }), 3, 'the relay takes the three pago.solicitado')
    const applied = await Promise.all(rs.map(async (r) => r.kind === 'accepted'
      ? await pagos.applyPagoProcesado({ tipo: 'pago.procesado', version: 1, pagoId: r.pago.id, usuarioId: u.id, montoCentimos: Math.round(r.pago.monto * 100), estado: 'completado', motivo: 'Aprobado', procesadoEn: new Date().toISOString() })
      : undefined))
    t.same(applied, [{ kind: 'applied' }, { kind: 'applied' }, { kind: 'applied' }])
  })
  t.equal(solicitados.length, 3)
  t.same(kyselyQueries(texts), [], 'every statement on the path is hand-written')
  t.equal(texts.filter((s) => s.startsWith('update usuarios')).length, 3, 'one debit per payment')
  t.equal(texts.filter((s) => s.startsWith('update pagos')).length, 3, 'one completion per result')
  t.equal(texts.filter((s) => s === 'commit').length, 4, 'four group commits: the payments, the claim read, its delete, the results')
  t.equal((await db.selectFrom('usuarios').select('saldo_centimos').where('id', '=', u.id).executeTakeFirstOrThrow()).saldo_centimos, 9_400)
  t.same((await db.selectFrom('pagos').select('estado').execute()).map((p) => p.estado), ['completado', 'completado', 'completado'])
  t.equal((await db.selectFrom('outbox').selectAll().execute()).length, 0, 'the claim deleted what it published')
})

t.test('usuarios: a payment the saldo does not cover falls back to Kysely, which says why and writes nothing', async (t) => {
  const db = await usuariosDb(t, 'sqlite')
  const cuentas = createCuentasStore(db)
  const pagos = createCuentaPagosStore(db, () => {})
  const u = await cuentas.create('Eva', 100)
  const texts = await executed(async () => {
    t.match(await pagos.pagar({ usuarioId: u.id, montoCentimos: 101, concepto: null, correlationId: null }), { kind: 'insufficient-funds', saldoCentimos: 100, montoCentimos: 101 })
    t.match(await pagos.pagar({ usuarioId: u.id + 1, montoCentimos: 1, concepto: null, correlationId: null }), { kind: 'usuario-not-found' })
  })
  t.ok(kyselyQueries(texts).length > 0, 'the rare outcomes are told by the Kysely transaction')
  t.equal((await db.selectFrom('pagos').selectAll().execute()).length, 0)
  t.equal((await db.selectFrom('outbox').selectAll().execute()).length, 0)
})

t.test('pagos: checking and recording a result run no Kysely query', async (t) => {
  const db = await pagosDb(t, 'sqlite')
  const store = createProcesadosStore(db, () => {})
  const s: PagoSolicitadoV1 = { tipo: 'pago.solicitado', version: 1, pagoId: '6f1c1f5e-6d8a-4e7b-9a53-0d5b8f6f2a11', usuarioId: 7, montoCentimos: 2_550, concepto: 'café', solicitadoEn: new Date().toISOString() }
  await store.isRecorded('compile-once')
  const texts = await executed(async () => {
    t.equal(await store.isRecorded(s.pagoId), false)
    t.equal(await store.record(s, { estado: 'completado', motivo: 'Aprobado' }, 'r', new Date().toISOString()), true, 'recorded')
    t.equal(await store.record(s, { estado: 'fallido', motivo: 'otra copia' }, 'r', new Date().toISOString()), false, 'a second copy records nothing')
    t.equal(await store.isRecorded(s.pagoId), true)
  })
  t.same(kyselyQueries(texts), [])
  const outbox = await db.selectFrom('outbox').selectAll().execute()
  t.equal(outbox.length, 1, 'one pago.procesado')
  t.match(JSON.parse(outbox[0]!.payload), { tipo: 'pago.procesado', pagoId: s.pagoId, usuarioId: 7, montoCentimos: 2_550, estado: 'completado', motivo: 'Aprobado' })
  t.match(await store.find(s.pagoId), { id: s.pagoId, monto: 25.5, estado: 'completado', correlationId: 'r' })
})

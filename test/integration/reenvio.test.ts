import { randomUUID } from 'node:crypto'
import t from 'tap'
import { decodeMessage, type PagoSolicitadoV1 } from '../../contracts/messages.js'
import { openDatabase } from '../../lib/storage/db.js'
import { pagoSolicitadoHandler } from '../../pagos/messaging/pago-solicitado-handler.js'
import type { Procesador } from '../../pagos/processor.js'
import { createProcesadosStore } from '../../pagos/store/procesados-store.js'
import { createCuentasStore } from '../../usuarios/store/cuentas-store.js'
import { createCuentaPagosStore } from '../../usuarios/store/cuenta-pagos-store.js'
import { createResendStore } from '../../usuarios/store/resend-store.js'
import type { UsuariosDatabase } from '../../usuarios/store/schema.js'
import { dialects, freshDatabaseUrl, openTestDb, pagosDb, silent, usuariosApp, usuariosDb } from '../helpers/apps.js'
import { migrations } from '../../usuarios/store/migrations.js'
import { parseExposition, sampleValue } from '../helpers/prometheus.js'

/*
 * No payment stays pendiente forever: usuarios asks pagos again for a
 * payment pending past PAGO_REENVIO_SEGUNDOS, and pagos answers a repeated
 * request with the result it recorded, never calling the provider twice.
 */

const noop = (): void => {}

async function pagar (db: Awaited<ReturnType<typeof usuariosDb>>, n: number): Promise<string[]> {
  const cuentas = createCuentasStore(db)
  const u = await cuentas.create('Reenvío', 100_000)
  const pagos = createCuentaPagosStore(db, noop)
  const ids: string[] = []
  for (let i = 0; i < n; i++) {
    const r = await pagos.pagar({ usuarioId: u.id, montoCentimos: 100, concepto: `pago ${i}`, correlationId: `req-${i}` })
    if (r.kind !== 'accepted') throw new Error(r.kind)
    ids.push(r.pago.id)
  }
  return ids
}

for (const dialect of dialects) {
  t.test(`${dialect}: a payment pendiente past the bound is asked again, with the same id, payload and correlation id`, async (t) => {
    const db = await usuariosDb(t, dialect)
    const [id] = await pagar(db, 1)
    const original = await db.selectFrom('outbox').selectAll().executeTakeFirstOrThrow()
    let notified = 0
    const reenvio = createResendStore(db, () => { notified++ })

    t.equal(await reenvio.resendOverdue(0, 100), 0, 'not while its first request still waits in the outbox (broker away)')
    await db.deleteFrom('outbox').execute() // the relay published it
    t.equal(await reenvio.resendOverdue(60_000, 100), 0, 'not before the bound')
    t.equal(await reenvio.countOverdue(60_000), 0, 'not overdue before the bound')
    t.equal(await reenvio.countOverdue(0), 1, 'overdue once past the bound')

    t.equal(await reenvio.resendOverdue(0, 100), 1, 'past the bound: re-sent')
    t.equal(notified, 1, 'the relay is woken')
    const again = await db.selectFrom('outbox').selectAll().execute()
    t.equal(again.length, 1)
    t.match(again[0], { tipo: 'pago.solicitado', message_id: id, correlation_id: 'req-0' })
    t.same(JSON.parse(again[0]!.payload), JSON.parse(original.payload), 'the very same request')
    t.ok(decodeMessage('pago.solicitado', again[0]!.payload).ok, 'honours the contract')

    await db.deleteFrom('outbox').execute()
    t.equal(await reenvio.resendOverdue(60_000, 100), 0, 're-sends are spaced: not again within the bound')
    t.equal(await reenvio.countOverdue(0), 1, 'still overdue while pendiente')

    await createCuentaPagosStore(db, noop).applyPagoProcesado({ tipo: 'pago.procesado', version: 1, pagoId: id!, usuarioId: (await db.selectFrom('pagos').select('usuario_id').executeTakeFirstOrThrow()).usuario_id, montoCentimos: 100, estado: 'completado', motivo: 'Aprobado', procesadoEn: new Date().toISOString() })
    t.equal(await reenvio.resendOverdue(0, 100), 0, 'a settled payment is never asked again')
    t.equal(await reenvio.countOverdue(0), 0, 'nor counted')
  })
}

if (dialects.includes('postgres')) {
  t.test('postgres: instances sweeping at once re-send each payment once', async (t) => {
    const url = (await freshDatabaseUrl(t, 'postgres', 'reenvio'))!
    const a = await openTestDb<UsuariosDatabase>(t, migrations, { dialect: 'postgres', url })
    const b = await openTestDb<UsuariosDatabase>(t, migrations, { dialect: 'postgres', url })
    const ids = await pagar(a, 60)
    await a.deleteFrom('outbox').execute()
    const [x, y] = await Promise.all([createResendStore(a, noop).resendOverdue(0, 40), createResendStore(b, noop).resendOverdue(0, 40)])
    const rows = await a.selectFrom('outbox').select('message_id').execute()
    t.equal(x + y, rows.length, 'what each instance reports is what it wrote')
    t.equal(new Set(rows.map((r) => r.message_id)).size, rows.length, 'no payment re-sent twice')
    t.ok(rows.length >= 40 && rows.every((r) => ids.includes(r.message_id)), `${rows.length} re-sent between them (${x} + ${y})`)
  })
}

t.test('pagos answers a repeated request with its recorded result and calls the provider once', async (t) => {
  const db = await pagosDb(t)
  const store = createProcesadosStore(db, noop)
  let calls = 0
  let release: () => void = noop
  const gate = new Promise<void>((resolve) => { release = resolve })
  const procesador: Procesador = {
    async procesar () {
      calls++
      await gate
      return { estado: 'fallido', motivo: 'Rechazado por el proveedor' }
    }
  }
  const handle = pagoSolicitadoHandler(store, procesador, silent)
  const message: PagoSolicitadoV1 = { tipo: 'pago.solicitado', version: 1, pagoId: randomUUID(), usuarioId: 7, montoCentimos: 250, concepto: null, solicitadoEn: new Date().toISOString() }
  const delivery = { message, messageId: message.pagoId, correlationId: 'req-7', attempt: 1 }

  const first = handle(delivery)
  const whileInFlight = handle(delivery)
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(calls, 1, 'a copy that arrives while the provider is being called waits')
  release()
  t.same(await first, { ack: true })
  t.same(await whileInFlight, { ack: true }, 'then it is acked')
  t.same(await handle({ ...delivery, correlationId: 'req-7-reenvio' }), { ack: true }, 'a later repeat is acked')
  t.same(await handle(delivery), { ack: true })
  t.equal(calls, 1, 'the provider was called once')

  const outbox = await db.selectFrom('outbox').selectAll().orderBy('id').execute()
  t.equal(outbox.length, 4, 'the result, then one answer per copy: the one that waited and the two later ones')
  const results = outbox.map((r) => decodeMessage('pago.procesado', r.payload))
  t.ok(results.every((r) => r.ok), 'every answer honours the contract')
  t.same(new Set(outbox.map((r) => r.payload)).size, 1, 'every answer is the recorded result, byte for byte')
  t.match(results[0], { ok: true, message: { pagoId: message.pagoId, estado: 'fallido', motivo: 'Rechazado por el proveedor', montoCentimos: 250 } })
  t.same(outbox.map((r) => [r.message_id, r.correlation_id]), [[message.pagoId, 'req-7'], [message.pagoId, 'req-7'], [message.pagoId, 'req-7-reenvio'], [message.pagoId, 'req-7']], 'same payment id, the correlation id of the request answered')
  t.equal(await store.republish(randomUUID(), null), false, 'a payment pagos never recorded is not answered: it gets processed')
})

t.test('/health/ready and /metrics show the payments pending past the bound; readiness stays 200', async (t) => {
  const { app, file } = await usuariosApp(t, { PAGO_REENVIO_SEGUNDOS: '60' })
  const pagar = async (): Promise<string> => (await app.inject({ method: 'POST', url: '/usuarios/1/pagar', payload: { monto: 1 } })).json().pago.id
  await pagar()
  const viejo = await pagar()
  const ready = async (): Promise<{ statusCode: number, body: any }> => { const r = await app.inject('/health/ready'); return { statusCode: r.statusCode, body: r.json() } }
  const overdue = async (): Promise<number | undefined> => sampleValue(parseExposition((await app.inject('/metrics')).body), 'payments_pending_overdue')
  t.match(await ready(), { statusCode: 200, body: { pagosPendientesVencidos: 0 } }, 'two pending payments, none past the bound')
  t.equal(await overdue(), 0)

  // The same file through a second connection: one payment was accepted two minutes ago.
  const other = openDatabase<UsuariosDatabase>({ url: undefined, sqliteFile: file, synchronous: 'NORMAL', poolMax: 1, name: 'test', logger: silent })
  t.teardown(async () => { await other.destroy() })
  await other.updateTable('pagos').set({ creado_en: new Date(Date.now() - 120_000).toISOString() }).where('id', '=', viejo).execute()

  t.match(await ready(), { statusCode: 200, body: { status: 'ok', pagosPendientesVencidos: 1 } }, 'one past the bound; still ready')
  t.equal(await overdue(), 1, 'payments_pending_overdue 1')
})

t.test('PAGO_REENVIO_SEGUNDOS is checked at start', async (t) => {
  const { loadUsuariosConfig } = await import('../../usuarios/config.js')
  t.equal(loadUsuariosConfig({}).PAGO_REENVIO_SEGUNDOS, 300, 'default 300 s')
  t.throws(() => loadUsuariosConfig({ PAGO_REENVIO_SEGUNDOS: '0' }), /PAGO_REENVIO_SEGUNDOS/)
})

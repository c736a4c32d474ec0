import { randomUUID } from 'node:crypto'
import t from 'tap'
import { decodeMessage, type PagoSolicitadoV1 } from '../../contracts/messages.js'
import { createProcesadosStore } from '../../pagos/store/procesados-store.js'
import { assertJsonError, brokerAway, pagosApp, pagosDb } from '../helpers/apps.js'

function solicitud (usuarioId: number, montoCentimos: number, concepto: string | null = null): PagoSolicitadoV1 {
  return { tipo: 'pago.solicitado', version: 1, pagoId: randomUUID(), usuarioId, montoCentimos, concepto, solicitadoEn: new Date().toISOString() }
}

t.test('GET /pagos/status says the service runs, with real figures', async (t) => {
  const { app } = await pagosApp(t)
  const res = await app.inject('/pagos/status')
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.equal(body.mensaje, 'Microservicio de pagos activo')
  t.equal(body.status, 'running')
  t.same(body.broker, { conectado: true }, 'the (in-memory) broker is connected')
  for (const figure of ['procesados', 'fallidos', 'deadLetter', 'outboxPendientes', 'uptimeSegundos']) {
    t.type(body[figure], 'number', `${figure} is a number`)
  }
  t.match(body, { procesados: 0, fallidos: 0, deadLetter: 0, outboxPendientes: 0 })
})

t.test('POST /pagos/procesar answers as the original did', async (t) => {
  const { app } = await pagosApp(t)
  for (const req of [{ method: 'POST' as const, url: '/pagos/procesar' }, { method: 'POST' as const, url: '/pagos/procesar', headers: { 'content-type': 'application/json' } }]) {
    const res = await app.inject(req)
    t.equal(res.statusCode, 200)
    t.same(res.json(), { mensaje: 'Microservicio de pagos está procesando mensajes automáticamente' })
  }
})

t.test('a payment pagos never saw is a 404; a non-uuid is a 400', async (t) => {
  const { app } = await pagosApp(t)
  const res = await app.inject(`/pagos/${randomUUID()}`)
  const body = assertJsonError(t, res, 404, 'unknown payment')
  t.equal(body.error, 'Pago no encontrado')
  assertJsonError(t, await app.inject('/pagos/123'), 400, 'non-uuid')
  assertJsonError(t, await app.inject('/pagos/no-es-un-uuid'), 400, 'non-uuid')
})

t.test('recorded results are shown and listed', async (t) => {
  // Broker away: the outbox keeps the results for the test to read.
  const { app, file } = await pagosApp(t, {}, brokerAway())
  const store = createProcesadosStore(await pagosDb(t, file), () => {})
  const recibido = new Date().toISOString()
  const ok1 = solicitud(1, 2500, 'Libro')
  const ok2 = solicitud(1, 100)
  const ko1 = solicitud(1, 99)
  const ana = solicitud(2, 70_000)
  t.ok(await store.record(ok1, { estado: 'completado', motivo: 'Aprobado' }, 'req-1', recibido))
  t.ok(await store.record(ok2, { estado: 'completado', motivo: 'Aprobado' }, null, recibido))
  t.ok(await store.record(ko1, { estado: 'fallido', motivo: 'Rechazado por el proveedor' }, null, recibido))
  t.ok(await store.record(ana, { estado: 'fallido', motivo: 'Monto supera el límite' }, null, recibido))

  t.test('GET /pagos/:id', async (t) => {
    const res = await app.inject(`/pagos/${ok1.pagoId}`)
    t.equal(res.statusCode, 200)
    t.match(res.json(), { id: ok1.pagoId, usuarioId: 1, monto: 25, concepto: 'Libro', estado: 'completado', motivo: 'Aprobado', correlationId: 'req-1', recibidoEn: recibido })
    t.match((await app.inject(`/pagos/${ko1.pagoId}`)).json(), { monto: 0.99, estado: 'fallido', correlationId: null, concepto: null })
  })

  t.test('GET /pagos filters by usuario and estado', async (t) => {
    const all = (await app.inject('/pagos')).json()
    t.equal(all.total, 4)
    t.equal(all.pagos.length, 4)
    t.match(all, { limit: 20, offset: 0 })

    const willis = (await app.inject('/pagos?usuario=1')).json()
    t.equal(willis.total, 3)
    t.ok(willis.pagos.every((p: any) => p.usuarioId === 1))

    const fallidos = (await app.inject('/pagos?estado=fallido')).json()
    t.same(new Set(fallidos.pagos.map((p: any) => p.id)), new Set([ko1.pagoId, ana.pagoId]))

    const both = (await app.inject('/pagos?usuario=1&estado=completado')).json()
    t.equal(both.total, 2)
    t.same(new Set(both.pagos.map((p: any) => p.id)), new Set([ok1.pagoId, ok2.pagoId]))

    t.match((await app.inject('/pagos?usuario=3')).json(), { pagos: [], total: 0 })
  })

  t.test('GET /pagos pages', async (t) => {
    const seen = new Set<string>()
    for (const offset of [0, 2]) {
      const page = (await app.inject(`/pagos?limit=2&offset=${offset}`)).json()
      t.match(page, { total: 4, limit: 2, offset })
      t.equal(page.pagos.length, 2)
      for (const p of page.pagos) seen.add(p.id)
    }
    t.equal(seen.size, 4, 'the pages do not overlap')
    t.same((await app.inject('/pagos?offset=4')).json().pagos, [])
  })

  t.test('bad filters are 400', async (t) => {
    for (const q of ['usuario=0', 'usuario=abc', 'estado=pendiente', 'estado=x', 'limit=0', 'limit=101', 'offset=-1']) {
      assertJsonError(t, await app.inject(`/pagos?${q}`), 400, q)
    }
  })

  t.test('the status counts them', async (t) => {
    t.match((await app.inject('/pagos/status')).json(), { procesados: 2, fallidos: 2 })
  })
})

t.test('recording the same payment twice records and announces it once', async (t) => {
  const db = await pagosDb(t)
  let notified = 0
  const store = createProcesadosStore(db, () => { notified++ })
  const s = solicitud(1, 1000)
  const recibido = new Date().toISOString()
  t.equal(await store.record(s, { estado: 'completado', motivo: 'Aprobado' }, 'req-9', recibido), true)
  t.equal(await store.record(s, { estado: 'fallido', motivo: 'otro intento' }, 'req-9', recibido), false, 'the second is a duplicate')
  t.equal(await store.isRecorded(s.pagoId), true)
  t.match(await store.find(s.pagoId), { estado: 'completado', motivo: 'Aprobado' }, 'the first result stands')

  const outbox = await db.selectFrom('outbox').selectAll().execute()
  t.equal(outbox.length, 1, 'one outbox row')
  t.match(outbox[0], { tipo: 'pago.procesado', message_id: s.pagoId, correlation_id: 'req-9' })
  const decoded = decodeMessage('pago.procesado', outbox[0]!.payload)
  t.ok(decoded.ok, 'the payload honours the contract')
  if (decoded.ok) t.match(decoded.message, { pagoId: s.pagoId, usuarioId: 1, montoCentimos: 1000, estado: 'completado' })
  t.equal(notified, 1, 'the relay is woken once')
})

t.test('pagos health and unknown routes', async (t) => {
  const { app } = await pagosApp(t)
  t.equal((await app.inject('/health/live')).statusCode, 200)
  const ready = await app.inject('/health/ready')
  t.equal(ready.statusCode, 200)
  t.match(ready.json(), { status: 'ok', servicio: 'pagos', baseDeDatos: 'ok', broker: 'conectado' })
  const body = assertJsonError(t, await app.inject('/usuarios/1'), 404, 'route of another service')
  t.equal(body.error, 'Ruta no encontrada')
})

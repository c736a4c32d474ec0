import t from 'tap'
import type { App } from '../../lib/http/http-app.js'
import { gatewayOpenApiDocument } from '../../gateway/docs.js'
import { createMemoryBroker } from '../../lib/messaging/memory-broker.js'
import { csvField, prefersCsv } from '../../usuarios/routes/movimientos.js'
import { checkStatement, statementRow } from '../../usuarios/statement.js'
import { assertJsonError, pagosApp, usuariosApp, type Test } from '../helpers/apps.js'
import { allMovimientos } from '../helpers/movimientos.js'
import { waitFor } from '../helpers/poll.js'

/* GET /usuarios/:usuarioId/movimientos: the account statement, as JSON pages or one CSV. */

async function post (app: App, url: string, body: unknown): Promise<any> {
  const res = await app.inject({ method: 'POST', url, payload: body as Record<string, unknown> })
  if (res.statusCode >= 300) throw new Error(`${url} answered ${res.statusCode}: ${res.body}`)
  return res.json()
}

const getJson = (app: App) => async (url: string) => {
  const res = await app.inject(url)
  return { status: res.statusCode, body: res.json() }
}

/** The usuario's statement checked against its saldo: no violations. */
async function statementAddsUp (t: Test, app: App, usuarioId: number): Promise<void> {
  const saldo = (await app.inject(`/usuarios/${usuarioId}`)).json().saldo
  const movimientos = await allMovimientos(getJson(app), usuarioId, 3)
  t.same(checkStatement(movimientos.map(statementRow), Math.round(saldo * 100)), [], `usuario ${usuarioId}: the statement adds up to its saldo`)
}

t.test('the seeded users start with their alta', async (t) => {
  const { app } = await usuariosApp(t)
  const willis = await app.inject('/usuarios/1/movimientos')
  t.equal(willis.statusCode, 200)
  t.match(willis.headers['content-type'], /^application\/json/)
  const body = willis.json()
  t.equal(body.siguiente, null, 'one page')
  t.equal(body.movimientos.length, 1)
  t.match(body.movimientos[0], { tipo: 'alta', monto: 500, saldo: 500, referencia: null })
  t.ok(!Number.isNaN(Date.parse(body.movimientos[0].fecha)), 'fecha is ISO 8601')
  t.match((await app.inject('/usuarios/2/movimientos')).json().movimientos, [{ tipo: 'alta', monto: 700, saldo: 700 }])
})

t.test('a new usuario has its alta, also with saldo 0', async (t) => {
  const { app } = await usuariosApp(t)
  const eva = await post(app, '/usuarios', { nombre: 'Eva' })
  t.match((await app.inject(`/usuarios/${eva.id}/movimientos`)).json(), { movimientos: [{ tipo: 'alta', monto: 0, saldo: 0, referencia: null }], siguiente: null })
  const luis = await post(app, '/usuarios', { nombre: 'Luis', saldo: 12.5 })
  t.match((await app.inject(`/usuarios/${luis.id}/movimientos`)).json().movimientos, [{ tipo: 'alta', monto: 12.5, saldo: 12.5 }])
})

t.test('top-ups and payments, newest first, signed, with the saldo after each', async (t) => {
  const { app } = await usuariosApp(t)
  const recarga = await post(app, '/usuarios/1/recargar', { monto: 20.25 })
  const pago = await post(app, '/usuarios/1/pagar', { monto: 25.5, concepto: 'Libro' })
  const { movimientos } = (await app.inject('/usuarios/1/movimientos')).json()
  t.match(movimientos, [
    { tipo: 'pago', monto: -25.5, saldo: 494.75, referencia: pago.pago.id },
    { tipo: 'recarga', monto: 20.25, saldo: 520.25, referencia: String(recarga.recarga.id) },
    { tipo: 'alta', monto: 500, saldo: 500 }
  ])
  t.ok(movimientos[0].id > movimientos[1].id && movimientos[1].id > movimientos[2].id, 'ids fall')
  // A refused payment or top-up changes nothing, so it is no movement.
  t.equal((await app.inject({ method: 'POST', url: '/usuarios/1/pagar', payload: { monto: 100000 } })).statusCode, 409)
  t.equal((await app.inject('/usuarios/1/movimientos')).json().movimientos.length, 3, 'a refused payment is not a movement')
  await statementAddsUp(t, app, 1)
})

t.test('a failed payment gives its money back as a devolucion', async (t) => {
  const broker = createMemoryBroker()
  const { app } = await usuariosApp(t, { OUTBOX_POLL_MS: '50' }, broker)
  await pagosApp(t, { OUTBOX_POLL_MS: '50', PROCESADOR_LIMITE: '5' }, broker)
  const ok = await post(app, '/usuarios/2/pagar', { monto: 1 })
  const refused = await post(app, '/usuarios/2/pagar', { monto: 10 })
  const settled = async (pagoId: string): Promise<void> => {
    await waitFor(`payment ${pagoId} settled`, async () => (await app.inject(`/usuarios/2/pagos/${pagoId}`)).json().estado !== 'pendiente')
  }
  await settled(ok.pago.id)
  await settled(refused.pago.id)
  const { movimientos } = (await app.inject('/usuarios/2/movimientos')).json()
  t.match(movimientos[0], { tipo: 'devolucion', monto: 10, saldo: 699, referencia: refused.pago.id })
  t.equal(movimientos.filter((m: any) => m.tipo === 'devolucion').length, 1, 'only the failed payment comes back')
  t.same(movimientos.map((m: any) => m.tipo), ['devolucion', 'pago', 'pago', 'alta'])
  await statementAddsUp(t, app, 2)
})

t.test('pages follow the cursor and stay put while new movements arrive', async (t) => {
  const { app } = await usuariosApp(t)
  for (let i = 1; i <= 7; i++) await post(app, '/usuarios/1/recargar', { monto: i })
  const first = (await app.inject('/usuarios/1/movimientos?limit=3')).json()
  t.equal(first.movimientos.length, 3)
  t.type(first.siguiente, 'string')
  t.same(first.movimientos.map((m: any) => m.monto), [7, 6, 5])
  // Two new movements between pages shift nothing.
  await post(app, '/usuarios/1/recargar', { monto: 8 })
  await post(app, '/usuarios/1/pagar', { monto: 1 })
  const second = (await app.inject(`/usuarios/1/movimientos?limit=3&cursor=${first.siguiente as string}`)).json()
  t.same(second.movimientos.map((m: any) => m.monto), [4, 3, 2])
  const last = (await app.inject(`/usuarios/1/movimientos?limit=3&cursor=${second.siguiente as string}`)).json()
  t.same(last.movimientos.map((m: any) => m.monto), [1, 500])
  t.equal(last.siguiente, null, 'null on the last page')
  t.equal((await app.inject('/usuarios/1/movimientos')).json().movimientos.length, 10, 'the default page holds them all (50)')
  await statementAddsUp(t, app, 1)
})

t.test('a malformed cursor or limit is a 400 naming it; an unknown usuario a 404', async (t) => {
  const { app } = await usuariosApp(t)
  for (const cursor of ['abc', '!!', 'MA', 'LTE', 'MDE', 'Nw%3D%3D', 'x'.repeat(40)]) {
    const body = assertJsonError(t, await app.inject(`/usuarios/1/movimientos?cursor=${cursor}`), 400, `cursor ${cursor}`)
    t.match(body, { code: 'VALIDACION', campo: 'cursor' }, `cursor ${cursor} is named`)
  }
  for (const limit of ['0', '101', 'x']) {
    t.match(assertJsonError(t, await app.inject(`/usuarios/1/movimientos?limit=${limit}`), 400, `limit ${limit}`), { code: 'VALIDACION', campo: 'limit' })
  }
  t.match(assertJsonError(t, await app.inject('/usuarios/999/movimientos'), 404, 'unknown usuario'), { code: 'USUARIO_NO_ENCONTRADO' })
  t.match(assertJsonError(t, await app.inject({ url: '/usuarios/999/movimientos', headers: { accept: 'text/csv' } }), 404, 'unknown usuario, CSV'), { code: 'USUARIO_NO_ENCONTRADO' })
  assertJsonError(t, await app.inject('/usuarios/abc/movimientos'), 400, 'usuarioId not a number')
})

t.test('Accept: text/csv exports every movement as CSV', async (t) => {
  const { app } = await usuariosApp(t)
  for (let i = 1; i <= 60; i++) await post(app, '/usuarios/1/recargar', { monto: i / 100 })
  const pago = await post(app, '/usuarios/1/pagar', { monto: 2.5 })
  const res = await app.inject({ url: '/usuarios/1/movimientos?limit=2', headers: { accept: 'text/csv' } })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'text/csv; charset=utf-8')
  t.equal(res.headers['content-disposition'], 'attachment; filename="movimientos-1.csv"')
  const lines = res.body.split('\r\n')
  t.equal(lines.pop(), '', 'every line ends with CRLF')
  t.equal(lines[0], 'id,tipo,monto,saldo,fecha,referencia', 'the header row')
  t.equal(lines.length, 1 + 62, 'all 62 movements, not a page of `limit`')
  const json = await allMovimientos(getJson(app), 1)
  t.same(lines.slice(1), json.map((m) => [m.id, m.tipo, m.monto, m.saldo, m.fecha, m.referencia ?? ''].join(',')), 'the same movements as the JSON pages, newest first')
  t.match(lines[1], new RegExp(`^\\d+,pago,-2.5,[0-9.]+,[^,]+,${pago.pago.id as string}$`))
  t.match(lines.at(-1), /^\d+,alta,500,500,[^,]+,$/, 'alta last, with no referencia')
})

t.test('Accept picks CSV only when text/csv is preferred over JSON', async (t) => {
  t.equal(prefersCsv(undefined), false)
  t.equal(prefersCsv('text/csv'), true)
  t.equal(prefersCsv('TEXT/CSV; charset=utf-8'), true)
  t.equal(prefersCsv('text/csv;q=0.9, application/json;q=0.5'), true)
  t.equal(prefersCsv('application/json, text/csv'), false, 'a tie keeps JSON')
  t.equal(prefersCsv('text/csv;q=0'), false)
  t.equal(prefersCsv('*/*'), false)
  t.equal(prefersCsv('text/html,application/xhtml+xml,*/*;q=0.8'), false)
  // The most specific range decides a type's quality (RFC 9110 §12.5.1).
  t.equal(prefersCsv('text/*'), true, 'text/* asks for text: CSV')
  t.equal(prefersCsv('text/*, application/json;q=0.5'), true)
  t.equal(prefersCsv('text/*;q=0.5, application/*'), false)
  t.equal(prefersCsv('text/csv;q=0, */*'), false, 'CSV refused by name, whatever */* says')
  t.equal(prefersCsv('application/json;q=0, */*'), true, 'JSON refused by name: CSV under */*')
  t.equal(prefersCsv('text/csv;q=2'), false, 'a quality out of range counts as 0')
})

t.test('CSV fields are quoted as RFC 4180 says', async (t) => {
  t.equal(csvField(null), '')
  t.equal(csvField(-25.5), '-25.5')
  t.equal(csvField('plain'), 'plain')
  t.equal(csvField('a,b'), '"a,b"')
  t.equal(csvField('say "hi"'), '"say ""hi"""')
  t.equal(csvField('two\nlines'), '"two\nlines"')
})

t.test('the OpenAPI documents of usuarios and the gateway show the statement, JSON and CSV', async (t) => {
  const { app } = await usuariosApp(t)
  const own = (await app.inject('/openapi.json')).json()
  const merged = await gatewayOpenApiDocument(false)
  for (const [name, doc] of [['usuarios', own], ['gateway', merged]] as const) {
    const op = doc.paths['/usuarios/{usuarioId}/movimientos']?.get
    t.equal(op?.operationId, 'listarMovimientos', `${name}: listed`)
    t.ok(op?.responses['200'].content['application/json'], `${name}: a JSON 200`)
    t.match(op?.responses['200'].content['text/csv'], { schema: { type: 'string' }, example: /^id,tipo,monto,saldo,fecha,referencia\r\n/ }, `${name}: a CSV 200`)
    t.ok(op?.responses['400'] !== undefined && op?.responses['404'] !== undefined, `${name}: 400 and 404`)
    t.ok(op?.parameters.some((p: any) => p.name === 'cursor' && p.in === 'query'), `${name}: the cursor parameter`)
  }
})

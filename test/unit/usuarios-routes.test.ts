import t from 'tap'
import type { App } from '../../lib/http/http-app.js'
import { createCuentaPagosStore } from '../../usuarios/store/cuenta-pagos-store.js'
import { assertJsonError, usuariosApp, usuariosDb } from '../helpers/apps.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

async function post (app: App, url: string, body?: unknown, headers: Record<string, string> = {}) {
  return await app.inject({
    method: 'POST',
    url,
    ...(body === undefined ? {} : { payload: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } }),
    ...(body === undefined ? { headers } : {})
  })
}

async function saldo (app: App, id: number): Promise<number> {
  return (await app.inject(`/usuarios/${id}`)).json().saldo
}

async function pagosDe (app: App, id: number): Promise<{ pagos: any[], total: number }> {
  return (await app.inject(`/usuarios/${id}/pagos`)).json()
}

t.test('the two original users exist on a fresh install', async (t) => {
  const { app } = await usuariosApp(t)

  const willis = await app.inject('/usuarios/1')
  t.equal(willis.statusCode, 200)
  t.match(willis.headers['content-type'], /^application\/json/)
  const w = willis.json()
  t.same({ id: w.id, nombre: w.nombre, saldo: w.saldo }, { id: 1, nombre: 'Willis', saldo: 500 })

  const ana = (await app.inject('/usuarios/2')).json()
  t.same({ id: ana.id, nombre: ana.nombre, saldo: ana.saldo }, { id: 2, nombre: 'Ana', saldo: 700 })
})

t.test('an unknown user is a 404 with the original message', async (t) => {
  const { app } = await usuariosApp(t)
  const res = await app.inject('/usuarios/999')
  const body = assertJsonError(t, res, 404, 'GET /usuarios/999')
  t.equal(body.error, 'Usuario no encontrado')
})

t.test('a user id that is not a positive integer is a 400', async (t) => {
  const { app } = await usuariosApp(t)
  for (const id of ['abc', '0', '1.5', '-1', '1e3', '01']) {
    assertJsonError(t, await app.inject(`/usuarios/${id}`), 400, `GET /usuarios/${id}`)
  }
})

t.test('listing users is paginated', async (t) => {
  const { app } = await usuariosApp(t)

  const all = (await app.inject('/usuarios')).json()
  t.equal(all.total, 2)
  t.equal(all.limit, 20, 'default page size')
  t.equal(all.offset, 0)
  t.same(all.usuarios.map((u: any) => u.nombre), ['Willis', 'Ana'])

  const second = await app.inject('/usuarios?limit=1&offset=1')
  t.equal(second.statusCode, 200)
  t.match(second.json(), { total: 2, limit: 1, offset: 1, usuarios: [{ id: 2, nombre: 'Ana' }] })
  t.equal(second.json().usuarios.length, 1)

  const beyond = (await app.inject('/usuarios?offset=10')).json()
  t.same(beyond.usuarios, [])
  t.equal(beyond.total, 2)

  for (const q of ['limit=0', 'limit=101', 'limit=abc', 'offset=-1', 'offset=x']) {
    assertJsonError(t, await app.inject(`/usuarios?${q}`), 400, `GET /usuarios?${q}`)
  }
})

t.test('creating a user', async (t) => {
  const { app } = await usuariosApp(t)

  t.test('answers 201 with a Location; saldo is optional', async (t) => {
    const res = await post(app, '/usuarios', { nombre: 'Eva' })
    t.equal(res.statusCode, 201)
    const eva = res.json()
    t.match(eva, { id: 3, nombre: 'Eva', saldo: 0 })
    t.equal(res.headers.location, `/usuarios/${eva.id}`)
    t.match((await app.inject(res.headers.location as string)).json(), { id: eva.id, nombre: 'Eva', saldo: 0 })
  })

  t.test('with an initial saldo, and the name trimmed', async (t) => {
    const res = await post(app, '/usuarios', { nombre: '  Luis ', saldo: 12.5 })
    t.equal(res.statusCode, 201)
    t.match(res.json(), { nombre: 'Luis', saldo: 12.5 })
  })

  t.test('bad bodies are 400', async (t) => {
    const bad: Array<[string, unknown]> = [
      ['no nombre', { saldo: 10 }],
      ['empty nombre', { nombre: '' }],
      ['blank nombre', { nombre: '   ' }],
      ['saldo with 3 decimals', { nombre: 'X', saldo: 12.345 }],
      ['negative saldo', { nombre: 'X', saldo: -1 }],
      ['saldo as a string', { nombre: 'X', saldo: '10' }]
    ]
    for (const [what, body] of bad) assertJsonError(t, await post(app, '/usuarios', body), 400, what)
    assertJsonError(t, await app.inject({ method: 'POST', url: '/usuarios' }), 400, 'no body at all')
    t.same(JSON.parse((await post(app, '/usuarios', { saldo: 10 })).body), { error: 'Datos inválidos', code: 'VALIDACION', campo: 'nombre', detalle: 'falta el campo `nombre`' }, 'the Spanish message names the field')
    t.match(JSON.parse((await post(app, '/usuarios', { nombre: 'X', saldo: 12.345 })).body), { code: 'VALIDACION', campo: 'saldo', detalle: /^`saldo` debe ser un número mayor o igual que 0 con como máximo 2 decimales/ })
    t.match(JSON.parse((await post(app, '/usuarios', { nombre: '   ' })).body), { campo: 'nombre', detalle: '`nombre` no puede estar vacío ni ser solo espacios o caracteres invisibles' })
    t.equal((await app.inject('/usuarios')).json().total, 4, 'nothing was created by the bad requests')
  })
})

t.test('topping up a balance', async (t) => {
  const { app } = await usuariosApp(t)

  t.test('answers 200 and the saldo rises', async (t) => {
    const res = await post(app, '/usuarios/1/recargar', { monto: 50.25 })
    t.equal(res.statusCode, 200)
    t.match(res.json(), { mensaje: 'Recarga realizada', usuario: { id: 1, saldo: 550.25 }, recarga: { monto: 50.25 } })
    t.equal(await saldo(app, 1), 550.25)
  })

  t.test('an unknown user is a 404', async (t) => {
    const body = assertJsonError(t, await post(app, '/usuarios/999/recargar', { monto: 10 }), 404, 'recargar 999')
    t.equal(body.error, 'Usuario no encontrado')
  })

  t.test('a monto that is not money is a 400 and changes nothing', async (t) => {
    const before = await saldo(app, 2)
    for (const monto of [0, -5, '10', true, 12.345, 1e12, null]) {
      const body = assertJsonError(t, await post(app, '/usuarios/2/recargar', { monto }), 400, `monto ${JSON.stringify(monto)}`)
      t.match(body, { code: 'VALIDACION', campo: 'monto', detalle: /^`monto` debe ser un número mayor que 0 con como máximo 2 decimales, hasta 1000000000/ }, `monto ${JSON.stringify(monto)}: the Spanish rule`)
    }
    assertJsonError(t, await post(app, '/usuarios/2/recargar', {}), 400, 'no monto')
    assertJsonError(t, await app.inject({ method: 'POST', url: '/usuarios/2/recargar' }), 400, 'no body')
    t.equal(await saldo(app, 2), before)
  })

  t.test('with an Idempotency-Key, a retry tops up once', async (t) => {
    const before = await saldo(app, 2)
    const first = await post(app, '/usuarios/2/recargar', { monto: 10 }, { 'idempotency-key': 'recarga-1' })
    const again = await post(app, '/usuarios/2/recargar', { monto: 10 }, { 'idempotency-key': 'recarga-1' })
    t.equal(first.statusCode, 200)
    t.equal(again.statusCode, 200)
    t.notOk(first.headers['idempotent-replayed'], 'first answer is not a replay')
    t.equal(again.headers['idempotent-replayed'], 'true')
    t.same(again.json(), first.json(), 'same answer')
    t.equal(await saldo(app, 2), before + 10, 'one top-up')

    const other = await post(app, '/usuarios/2/recargar', { monto: 11 }, { 'idempotency-key': 'recarga-1' })
    assertJsonError(t, other, 422, 'same key, other monto')
    t.equal(await saldo(app, 2), before + 10, 'still one top-up')

    const otherUser = await post(app, '/usuarios/1/recargar', { monto: 10 }, { 'idempotency-key': 'recarga-1' })
    t.equal(otherUser.statusCode, 200)
    t.notOk(otherUser.headers['idempotent-replayed'], 'the key of another user is independent')
  })
})

t.test('paying', async (t) => {
  t.test('a plain POST with no body pays the default amount', async (t) => {
    const { app } = await usuariosApp(t)
    const res = await app.inject({ method: 'POST', url: '/usuarios/1/pagar' })
    t.equal(res.statusCode, 202)
    const body = res.json()
    t.equal(body.mensaje, 'Solicitud de pago enviada')
    t.match(body.usuario, { id: 1, nombre: 'Willis', saldo: 400 })
    t.match(body.pago, { id: UUID, usuarioId: 1, estado: 'pendiente', monto: 100, concepto: null })
    t.equal(res.headers.location, `/usuarios/1/pagos/${body.pago.id as string}`)
    t.equal(await saldo(app, 1), 400)

    const pago = await app.inject(res.headers.location as string)
    t.equal(pago.statusCode, 200)
    t.same(pago.json(), { ...body.pago, reembolsado: 0 }, 'the Location shows the payment (its view adds what was refunded)')
  })

  t.test('content-type application/json with an empty body pays the default amount', async (t) => {
    const { app } = await usuariosApp(t)
    const res = await app.inject({ method: 'POST', url: '/usuarios/1/pagar', headers: { 'content-type': 'application/json' } })
    t.equal(res.statusCode, 202)
    t.match(res.json(), { usuario: { saldo: 400 }, pago: { monto: 100, estado: 'pendiente' } })
    // Whitespace only is a body, and not JSON: it no longer pays the default amount (a newcomer's finding).
    const blank = await app.inject({ method: 'POST', url: '/usuarios/1/pagar', headers: { 'content-type': 'application/json' }, payload: '  \n' })
    t.equal(blank.statusCode, 400, 'whitespace only is not JSON')
    t.match(blank.json(), { code: 'JSON_INVALIDO' })
    const after = await app.inject({ method: 'GET', url: '/usuarios/1' })
    t.match(after.json(), { saldo: 400 }, 'and pays nothing')
  })

  t.test('PAGO_MONTO_DEFECTO sets the default amount', async (t) => {
    const { app } = await usuariosApp(t, { PAGO_MONTO_DEFECTO: '7.5' })
    const res = await app.inject({ method: 'POST', url: '/usuarios/1/pagar' })
    t.match(res.json(), { usuario: { saldo: 492.5 }, pago: { monto: 7.5 } })
  })

  t.test('a body sets monto and concepto', async (t) => {
    const { app } = await usuariosApp(t)
    const res = await post(app, '/usuarios/2/pagar', { monto: 25, concepto: 'Libro' })
    t.equal(res.statusCode, 202)
    t.match(res.json(), { usuario: { id: 2, saldo: 675 }, pago: { monto: 25, concepto: 'Libro', estado: 'pendiente' } })
  })

  t.test('cents are exact: paying 0.29 leaves 499.71', async (t) => {
    const { app } = await usuariosApp(t)
    const res = await post(app, '/usuarios/1/pagar', { monto: 0.29 })
    t.equal(res.statusCode, 202)
    t.equal(res.json().usuario.saldo, 499.71)
    t.equal(res.json().pago.monto, 0.29)
    t.equal(await saldo(app, 1), 499.71)
    await post(app, '/usuarios/1/pagar', { monto: 0.1 })
    await post(app, '/usuarios/1/pagar', { monto: 0.2 })
    t.equal(await saldo(app, 1), 499.41, 'no float drift')
  })

  // TypeBox's multipleOf has a tolerance and toCentimos allows 1e-6 cents of
  // error, so these were accepted and silently charged as 0.30 / 12.34.
  t.test('a monto with more than 2 decimals is a 400 even when it is within a hair of a cent', async (t) => {
    const { app } = await usuariosApp(t)
    for (const payload of ['{"monto":0.3000000001}', '{"monto":12.340000001}', '{"monto":0.30000000000000004}']) {
      const res = await app.inject({ method: 'POST', url: '/usuarios/1/pagar', headers: { 'content-type': 'application/json' }, payload })
      assertJsonError(t, res, 400, payload)
    }
    t.equal(await saldo(app, 1), 500, 'nothing was charged')
  })

  t.test('insufficient funds is a 409 and changes nothing', async (t) => {
    const { app } = await usuariosApp(t)
    const res = await post(app, '/usuarios/1/pagar', { monto: 500.01 })
    const body = assertJsonError(t, res, 409, 'pagar 500.01')
    t.equal(body.error, 'Saldo insuficiente')
    t.equal(body.saldo, 500)
    t.equal(body.monto, 500.01)
    t.equal(await saldo(app, 1), 500, 'nothing debited')
    t.same(await pagosDe(app, 1), { pagos: [], total: 0, limit: 20, offset: 0 }, 'no payment recorded')

    const exact = await post(app, '/usuarios/1/pagar', { monto: 500 })
    t.equal(exact.statusCode, 202, 'the whole balance can be spent')
    t.equal(exact.json().usuario.saldo, 0)
  })

  t.test('an unknown user is a 404', async (t) => {
    const { app } = await usuariosApp(t)
    const body = assertJsonError(t, await app.inject({ method: 'POST', url: '/usuarios/999/pagar' }), 404, 'pagar 999')
    t.equal(body.error, 'Usuario no encontrado')
  })

  t.test('bad requests are refused with a JSON error and debit nothing', async (t) => {
    const { app } = await usuariosApp(t)
    const invalid = await app.inject({ method: 'POST', url: '/usuarios/1/pagar', headers: { 'content-type': 'application/json' }, payload: '{"monto":' })
    assertJsonError(t, invalid, 400, 'invalid JSON')

    const xml = await app.inject({ method: 'POST', url: '/usuarios/1/pagar', headers: { 'content-type': 'application/xml' }, payload: '<monto>25</monto>' })
    assertJsonError(t, xml, 415, 'application/xml')

    const big = await app.inject({
      method: 'POST',
      url: '/usuarios/1/pagar',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ monto: 1, concepto: 'x'.repeat(70 * 1024) })
    })
    assertJsonError(t, big, 413, 'a body over 64 KiB')

    for (const monto of [0, -5, '10', true, 12.345, 1e12]) {
      assertJsonError(t, await post(app, '/usuarios/1/pagar', { monto }), 400, `monto ${JSON.stringify(monto)}`)
    }
    assertJsonError(t, await post(app, '/usuarios/1/pagar', { monto: 1, concepto: '' }), 400, 'empty concepto')
    assertJsonError(t, await post(app, '/usuarios/abc/pagar', { monto: 1 }), 400, 'bad user id')
    t.equal(await saldo(app, 1), 500)
    t.equal((await pagosDe(app, 1)).total, 0)
  })

  // Fastify ships a text/plain parser; without removing it a text body reaches
  // validation and is a 400 "body must be object" instead of a 415.
  t.test('a text/plain body is a 415 like any other non-JSON type', async (t) => {
    const { app } = await usuariosApp(t)
    const text = await app.inject({ method: 'POST', url: '/usuarios/1/pagar', headers: { 'content-type': 'text/plain' }, payload: 'monto=25' })
    const body = assertJsonError(t, text, 415, 'text/plain')
    t.equal(body.error, 'Tipo de contenido no soportado: use application/json')
    t.equal(await saldo(app, 1), 500)
  })

  t.test('Idempotency-Key', async (t) => {
    const { app } = await usuariosApp(t)

    t.test('the same key and body give the same answer and pay once', async (t) => {
      const headers = { 'idempotency-key': 'compra-42' }
      const first = await post(app, '/usuarios/1/pagar', { monto: 25, concepto: 'Libro' }, headers)
      // The same body spelled differently is the same request.
      const again = await app.inject({ method: 'POST', url: '/usuarios/1/pagar', headers: { ...headers, 'content-type': 'application/json' }, payload: '{ "concepto": "Libro", "monto": 25.00 }' })
      t.equal(first.statusCode, 202)
      t.equal(again.statusCode, 202)
      t.notOk(first.headers['idempotent-replayed'])
      t.equal(again.headers['idempotent-replayed'], 'true')
      t.same(again.json(), first.json(), 'the original response')
      t.equal(again.json().pago.id, first.json().pago.id, 'the same payment')
      t.equal(again.headers.location, first.headers.location)
      t.equal(await saldo(app, 1), 475, 'one debit')
      t.equal((await pagosDe(app, 1)).total, 1, 'one payment')
    })

    t.test('the same key with another body is a 422', async (t) => {
      const res = await post(app, '/usuarios/1/pagar', { monto: 26, concepto: 'Libro' }, { 'idempotency-key': 'compra-42' })
      assertJsonError(t, res, 422, 'reused key')
      const noBody = await app.inject({ method: 'POST', url: '/usuarios/1/pagar', headers: { 'idempotency-key': 'compra-42' } })
      assertJsonError(t, noBody, 422, 'reused key without a body')
      t.equal(await saldo(app, 1), 475)
      t.equal((await pagosDe(app, 1)).total, 1)
    })

    t.test('the same key on another user is independent', async (t) => {
      const res = await post(app, '/usuarios/2/pagar', { monto: 25, concepto: 'Libro' }, { 'idempotency-key': 'compra-42' })
      t.equal(res.statusCode, 202)
      t.notOk(res.headers['idempotent-replayed'])
      t.equal(res.json().usuario.saldo, 675)
    })

    t.test('a 409 is replayed too, without paying later', async (t) => {
      const headers = { 'idempotency-key': 'demasiado' }
      const first = await post(app, '/usuarios/1/pagar', { monto: 1000 }, headers)
      t.equal(first.statusCode, 409)
      await post(app, '/usuarios/1/recargar', { monto: 1000 })
      const again = await post(app, '/usuarios/1/pagar', { monto: 1000 }, headers)
      t.equal(again.statusCode, 409, 'the stored answer, even though the saldo now suffices')
      t.equal(again.headers['idempotent-replayed'], 'true')
      t.equal(await saldo(app, 1), 1475)
    })

    t.test('a key that is not printable ASCII is a 400', async (t) => {
      const body = assertJsonError(t, await post(app, '/usuarios/1/pagar', { monto: 1 }, { 'idempotency-key': 'a b' }), 400, 'key with a space')
      t.match(body, { code: 'VALIDACION', campo: 'Idempotency-Key', detalle: /^`Idempotency-Key` solo admite caracteres ASCII visibles/ })
      assertJsonError(t, await post(app, '/usuarios/1/pagar', { monto: 1 }, { 'idempotency-key': 'x'.repeat(201) }), 400, 'key too long')
    })
  })
})

t.test('a user\'s payments', async (t) => {
  const { app, file } = await usuariosApp(t)
  const ids: string[] = []
  for (const monto of [10, 20, 30]) ids.push((await post(app, '/usuarios/1/pagar', { monto })).json().pago.id)
  const [a, b] = ids as [string, string, string]
  const anas = (await post(app, '/usuarios/2/pagar', { monto: 5 })).json().pago.id as string

  // pagos answers through the broker in production; here the result is applied to the store directly.
  const store = createCuentaPagosStore(await usuariosDb(t, file), () => {})
  t.same(await store.applyPagoProcesado({ tipo: 'pago.procesado', version: 1, pagoId: a, usuarioId: 1, montoCentimos: 1000, estado: 'fallido', motivo: 'Rechazado', procesadoEn: new Date().toISOString() }), { kind: 'applied' })
  t.same(await store.applyPagoProcesado({ tipo: 'pago.procesado', version: 1, pagoId: b, usuarioId: 1, montoCentimos: 2000, estado: 'completado', motivo: 'Aprobado', procesadoEn: new Date().toISOString() }), { kind: 'applied' })

  t.test('are listed, newest first, with a filter by estado', async (t) => {
    const all = await app.inject('/usuarios/1/pagos')
    t.equal(all.statusCode, 200)
    t.equal(all.json().total, 3)
    t.same(new Set(all.json().pagos.map((p: any) => p.id)), new Set(ids))
    t.notOk(all.json().pagos.some((p: any) => p.id === anas), 'no payment of another user')

    t.match((await app.inject('/usuarios/1/pagos?estado=fallido')).json(), { total: 1, pagos: [{ id: a, estado: 'fallido', motivo: 'Rechazado', monto: 10 }] })
    t.match((await app.inject('/usuarios/1/pagos?estado=completado')).json(), { total: 1, pagos: [{ id: b, estado: 'completado' }] })
    t.match((await app.inject('/usuarios/1/pagos?estado=pendiente')).json(), { total: 1, pagos: [{ monto: 30 }] })
    const page = (await app.inject('/usuarios/1/pagos?limit=2&offset=2')).json()
    t.equal(page.pagos.length, 1)
    t.equal(page.total, 3)
    assertJsonError(t, await app.inject('/usuarios/1/pagos?estado=raro'), 400, 'unknown estado')
    assertJsonError(t, await app.inject('/usuarios/1/pagos?limit=0'), 400, 'limit 0')
    t.equal(await saldo(app, 1), 500 - 20 - 30, 'the failed payment was refunded')
  })

  t.test('an unknown user has no payments: 404', async (t) => {
    const body = assertJsonError(t, await app.inject('/usuarios/999/pagos'), 404, 'pagos of 999')
    t.equal(body.error, 'Usuario no encontrado')
  })

  t.test('one payment by id', async (t) => {
    const res = await app.inject(`/usuarios/1/pagos/${b}`)
    t.equal(res.statusCode, 200)
    t.match(res.json(), { id: b, usuarioId: 1, estado: 'completado', monto: 20, motivo: 'Aprobado' })

    const unknown = assertJsonError(t, await app.inject('/usuarios/1/pagos/00000000-0000-4000-8000-000000000000'), 404, 'unknown payment')
    t.equal(unknown.error, 'Pago no encontrado')
    assertJsonError(t, await app.inject('/usuarios/1/pagos/no-es-uuid'), 400, 'not a uuid')
    const ajeno = assertJsonError(t, await app.inject(`/usuarios/1/pagos/${anas}`), 404, 'payment of another user')
    t.equal(ajeno.error, 'Pago no encontrado')
    t.equal((await app.inject(`/usuarios/2/pagos/${anas}`)).statusCode, 200, 'its owner sees it')
    const nobody = assertJsonError(t, await app.inject(`/usuarios/999/pagos/${anas}`), 404, 'unknown user')
    t.equal(nobody.error, 'Usuario no encontrado')
  })
})

t.test('an unknown route is a JSON 404', async (t) => {
  const { app } = await usuariosApp(t)
  for (const url of ['/', '/nada', '/usuarios/1/otra', '/pagos/status']) {
    const body = assertJsonError(t, await app.inject(url), 404, url)
    t.equal(body.error, 'Ruta no encontrada')
  }
  // A known path with a method it does not have is not a 404 (issue 12): test/unit/method-not-allowed.test.ts.
  const res = await app.inject({ method: 'DELETE', url: '/usuarios/1' })
  t.same(assertJsonError(t, res, 405, 'DELETE /usuarios/1'), { error: 'Método no permitido', code: 'METODO_NO_PERMITIDO' })
  t.equal(res.headers.allow, 'GET, HEAD')
})

t.test('health', async (t) => {
  const { app } = await usuariosApp(t)
  const live = await app.inject('/health/live')
  t.equal(live.statusCode, 200)
  t.same(live.json(), { status: 'ok' })
  const ready = await app.inject('/health/ready')
  t.equal(ready.statusCode, 200)
  t.match(ready.json(), { status: 'ok', servicio: 'usuarios', baseDeDatos: 'ok', broker: 'conectado' })
})

t.test('x-request-id', async (t) => {
  const { app } = await usuariosApp(t)
  const echoed = await app.inject({ url: '/usuarios/1', headers: { 'x-request-id': 'abc-123' } })
  t.equal(echoed.headers['x-request-id'], 'abc-123', 'the caller\'s id comes back')
  const made = await app.inject('/usuarios/1')
  t.match(made.headers['x-request-id'], UUID, 'one is made when absent')
  const garbage = await app.inject({ url: '/usuarios/1', headers: { 'x-request-id': 'no vale <x>' } })
  t.match(garbage.headers['x-request-id'], UUID, 'garbage is replaced')
  const onError = await app.inject({ url: '/usuarios/999', headers: { 'x-request-id': 'err-1' } })
  t.equal(onError.headers['x-request-id'], 'err-1', 'on an error too')
})

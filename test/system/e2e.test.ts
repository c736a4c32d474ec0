import t from 'tap'
import { call } from '../helpers/http.js'
import { waitFor } from '../helpers/poll.js'
import { startSystem, type System } from '../../lib/launch/system.js'

// The built services as processes, against the real RabbitMQ; every name is
// unique to this run. PROCESADOR_LIMITE makes large payments fail, to see refunds.
let sys: System
t.before(async () => { sys = await startSystem('e2e', { PROCESADOR_LIMITE: '1000' }) })
t.teardown(async () => { await sys?.stop() })

const gw = (path: string): string => `${sys.gateway.url}${path}`

async function estadoFinal (usuarioId: number, pagoId: string): Promise<any> {
  return await waitFor(`pago ${pagoId} final`, async () => {
    const r = await call('GET', gw(`/usuarios/${usuarioId}/pagos/${pagoId}`))
    return r.body.estado !== 'pendiente' && r.body
  })
}

async function nuevoUsuario (saldo: number): Promise<number> {
  const r = await call('POST', gw('/usuarios'), { nombre: `Cliente ${saldo}`, saldo })
  t.equal(r.status, 201)
  return r.body.id
}

t.test('the original curl flows answer as before, through the gateway and direct', async (t) => {
  for (const base of [sys.gateway.url, sys.usuarios.url]) {
    const willis = await call('GET', `${base}/usuarios/1`)
    t.equal(willis.status, 200)
    t.match(willis.body, { id: 1, nombre: 'Willis', saldo: 500 })
    const ana = await call('GET', `${base}/usuarios/2`)
    t.match(ana.body, { id: 2, nombre: 'Ana', saldo: 700 })
    const nadie = await call('GET', `${base}/usuarios/999`)
    t.equal(nadie.status, 404)
    t.same(nadie.body.error, 'Usuario no encontrado')
  }
  for (const base of [sys.gateway.url, sys.pagos.url]) {
    const status = await call('GET', `${base}/pagos/status`)
    t.equal(status.status, 200)
    t.match(status.body, { mensaje: 'Microservicio de pagos activo', status: 'running', broker: { conectado: true } })
  }
  const procesar = await call('POST', `${sys.pagos.url}/pagos/procesar`)
  t.same(procesar.body, { mensaje: 'Microservicio de pagos está procesando mensajes automáticamente' })
})

t.test('curl -X POST /usuarios/1/pagar pays the default 100 and the payment completes', async (t) => {
  const r = await call('POST', gw('/usuarios/1/pagar'))
  t.equal(r.status, 202)
  t.equal(r.body.mensaje, 'Solicitud de pago enviada')
  t.match(r.body.usuario, { nombre: 'Willis', saldo: 400 })
  t.match(r.body.pago, { estado: 'pendiente', monto: 100 })
  t.equal(r.headers.get('location'), `/usuarios/1/pagos/${r.body.pago.id}`)
  const final = await estadoFinal(1, r.body.pago.id)
  t.equal(final.estado, 'completado')
  t.match((await call('GET', gw('/usuarios/1'))).body, { saldo: 400 })
})

t.test('an explicit amount with a concept is paid exactly and pagos shows it under the request id', async (t) => {
  const id = await nuevoUsuario(100)
  const r = await call('POST', gw(`/usuarios/${id}/pagar`), { monto: 25.55, concepto: 'Libro' }, { 'x-request-id': `e2e-${id}` })
  t.equal(r.status, 202)
  t.equal(r.headers.get('x-request-id'), `e2e-${id}`)
  t.equal(r.body.usuario.saldo, 74.45)
  await estadoFinal(id, r.body.pago.id)
  const enPagos = await call('GET', gw(`/pagos/${r.body.pago.id}`))
  t.match(enPagos.body, { id: r.body.pago.id, usuarioId: id, monto: 25.55, concepto: 'Libro', estado: 'completado', correlationId: `e2e-${id}` })
  const lista = await call('GET', gw(`/pagos?usuario=${id}`))
  t.equal(lista.body.total, 1)
})

t.test('200 concurrent payments of 10 on a balance of 500: exactly 50 accepted, all completed, saldo 0', async (t) => {
  const id = await nuevoUsuario(500)
  const answers = await Promise.all(Array.from({ length: 200 }, async () => await call('POST', gw(`/usuarios/${id}/pagar`), { monto: 10 })))
  const accepted = answers.filter((a) => a.status === 202)
  const refused = answers.filter((a) => a.status === 409)
  t.equal(accepted.length, 50, '50 accepted')
  t.equal(refused.length, 150, 'the rest refused for insufficient funds')
  t.ok(refused.every((a) => a.body.error === 'Saldo insuficiente'))
  t.equal(new Set(accepted.map((a) => a.body.pago.id)).size, 50, '50 distinct payments')
  const done = await waitFor('50 payments completed', async () => {
    const r = await call('GET', gw(`/usuarios/${id}/pagos?estado=completado&limit=100`))
    return r.body.total === 50 && r.body
  }, { timeoutMs: 30_000 })
  t.equal(done.pagos.length, 50)
  t.match((await call('GET', gw(`/usuarios/${id}`))).body, { saldo: 0 })
  t.equal((await call('GET', gw(`/usuarios/${id}/pagos?estado=pendiente`))).body.total, 0)
})

t.test('a payment the provider refuses is refunded, exactly once', async (t) => {
  const id = await nuevoUsuario(2000)
  const r = await call('POST', gw(`/usuarios/${id}/pagar`), { monto: 1500 })
  t.equal(r.body.usuario.saldo, 500)
  const final = await estadoFinal(id, r.body.pago.id)
  t.equal(final.estado, 'fallido')
  t.match(final.motivo, /límite/)
  t.match((await call('GET', gw(`/usuarios/${id}`))).body, { saldo: 2000 })
  t.match((await call('GET', gw(`/pagos/${r.body.pago.id}`))).body, { estado: 'fallido' })
  const status = await call('GET', gw('/pagos/status'))
  t.ok(status.body.fallidos >= 1)
})

t.test('a retried request with the same Idempotency-Key pays once', async (t) => {
  const id = await nuevoUsuario(100)
  const headers = { 'idempotency-key': `e2e-key-${id}` }
  const first = await call('POST', gw(`/usuarios/${id}/pagar`), { monto: 30 }, headers)
  const again = await call('POST', gw(`/usuarios/${id}/pagar`), { monto: 30 }, headers)
  t.equal(first.status, 202)
  t.equal(again.status, 202)
  t.equal(again.body.pago.id, first.body.pago.id)
  const other = await call('POST', gw(`/usuarios/${id}/pagar`), { monto: 31 }, headers)
  t.equal(other.status, 422)
  await estadoFinal(id, first.body.pago.id)
  t.match((await call('GET', gw(`/usuarios/${id}`))).body, { saldo: 70 })
  t.equal((await call('GET', gw(`/usuarios/${id}/pagos`))).body.total, 1)
})

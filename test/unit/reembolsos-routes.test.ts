import { randomUUID } from 'node:crypto'
import t from 'tap'
import type { App } from '../../lib/http/http-app.js'
import { createMemoryBroker, type MemoryBroker } from '../../lib/messaging/memory-broker.js'
import { buildPagosApp } from '../../pagos/app.js'
import { loadPagosConfig } from '../../pagos/config.js'
import type { Reembolsador } from '../../pagos/processor.js'
import { assertJsonError, silent, usuariosApp, type Test } from '../helpers/apps.js'
import { waitFor } from '../helpers/poll.js'

// Refunds of a completed payment, usuarios and pagos on one in-memory broker:
// every answer of the three endpoints, and the flow to completado or fallido.

async function system (t: Test, reembolsador?: Reembolsador, pagosEnv: Record<string, string> = {}): Promise<{ usuarios: App, broker: MemoryBroker }> {
  const broker = createMemoryBroker()
  const { app: usuarios } = await usuariosApp(t, { OUTBOX_POLL_MS: '20' }, broker)
  const dir = t.testdir()
  const config = loadPagosConfig({ DATA_DIR: dir, LOG_DIR: dir, PAGOS_DB_FILE: `${dir}/pagos.sqlite`, OUTBOX_POLL_MS: '20', ...pagosEnv })
  const pagos = await buildPagosApp({ config, logger: silent, broker, reembolsador })
  t.teardown(async () => { await pagos.close() })
  await pagos.ready()
  return { usuarios, broker }
}

/** A payment of `monto` by `usuarioId`, once it left pendiente. */
async function pagado (usuarios: App, usuarioId: number, monto: number): Promise<any> {
  const res = (await usuarios.inject({ method: 'POST', url: `/usuarios/${usuarioId}/pagar`, payload: { monto } })).json()
  return await waitFor('payment settled', async () => {
    const pago = (await usuarios.inject(`/usuarios/${usuarioId}/pagos/${res.pago.id as string}`)).json()
    return pago.estado !== 'pendiente' && pago
  })
}

async function reembolsoFinal (usuarios: App, location: string): Promise<any> {
  return await waitFor('refund settled', async () => {
    const r = (await usuarios.inject(location)).json()
    return r.estado !== 'pendiente' && r
  })
}

const saldo = async (usuarios: App, id: number): Promise<number> => (await usuarios.inject(`/usuarios/${id}`)).json().saldo

t.test('a partial refund: 202 pendiente with Location, then completado and the amount credited once', async (t) => {
  const { usuarios, broker } = await system(t)
  const pago = await pagado(usuarios, 1, 100)
  t.equal(pago.estado, 'completado')
  t.equal(pago.reembolsado, 0, 'nothing refunded yet')
  const before = await saldo(usuarios, 1)
  const url = `/usuarios/1/pagos/${pago.id as string}/reembolsos`
  const res = await usuarios.inject({ method: 'POST', url, payload: { monto: 30, motivo: 'Producto devuelto' }, headers: { 'x-request-id': 'reembolso-1' } })
  t.equal(res.statusCode, 202)
  const body = res.json()
  t.equal(body.mensaje, 'Solicitud de reembolso enviada')
  t.match(body.reembolso, { pagoId: pago.id, estado: 'pendiente', monto: 30, motivo: 'Producto devuelto', motivoFallo: null })
  t.equal(res.headers.location, `${url}/${body.reembolso.id as string}`)

  const final = await reembolsoFinal(usuarios, res.headers.location as string)
  t.match(final, { id: body.reembolso.id, estado: 'completado', monto: 30, motivo: 'Producto devuelto', motivoFallo: null })
  t.equal(await saldo(usuarios, 1), before + 30, 'credited')
  t.equal((await usuarios.inject(`/usuarios/1/pagos/${pago.id as string}`)).json().reembolsado, 30, "the payment's view shows what was refunded")
  t.same((await usuarios.inject(url)).json(), { reembolsos: [final] }, 'listed')
  const listed = (await usuarios.inject('/usuarios/1/pagos')).json().pagos[0]
  t.equal(listed.reembolsado, 30, 'the list shows it too')
  t.equal(await broker.deadLetterCount('pagos') + await broker.deadLetterCount('usuarios'), 0, 'nothing dead-lettered')
  const metrics = (await usuarios.inject('/metrics')).body
  t.match(metrics, /refunds_requested_total\{[^}]*\} 1/)
  t.match(metrics, /refunds_processed_total\{[^}]*estado="completado"[^}]*\} 1/)
})

t.test('no monto refunds what is left; then nothing is left (409 REEMBOLSO_EXCEDE_PAGO, monto null)', async (t) => {
  const { usuarios } = await system(t)
  const pago = await pagado(usuarios, 2, 50.5)
  const url = `/usuarios/2/pagos/${pago.id as string}/reembolsos`
  t.equal((await usuarios.inject({ method: 'POST', url, payload: { monto: 10 } })).statusCode, 202)
  const rest = await usuarios.inject({ method: 'POST', url })
  t.equal(rest.statusCode, 202)
  t.equal(rest.json().reembolso.monto, 40.5, 'what was left (the pending refund counts)')
  t.equal(rest.json().reembolso.motivo, null)
  const none = assertJsonError(t, await usuarios.inject({ method: 'POST', url }), 409, 'nothing left')
  t.same(none, { error: 'El reembolso supera lo que queda por reembolsar del pago', code: 'REEMBOLSO_EXCEDE_PAGO', monto: null, reembolsable: 0 })
  await reembolsoFinal(usuarios, rest.headers.location as string)
  t.equal((await usuarios.inject(`/usuarios/2/pagos/${pago.id as string}`)).json().reembolsado, 50.5)
})

t.test('409 REEMBOLSO_EXCEDE_PAGO says what is still refundable; nothing changes', async (t) => {
  const { usuarios } = await system(t)
  const pago = await pagado(usuarios, 1, 20)
  const url = `/usuarios/1/pagos/${pago.id as string}/reembolsos`
  t.equal((await usuarios.inject({ method: 'POST', url, payload: { monto: 4.5 } })).statusCode, 202)
  const before = await saldo(usuarios, 1)
  const body = assertJsonError(t, await usuarios.inject({ method: 'POST', url, payload: { monto: 15.51 } }), 409, 'over the rest')
  t.same(body, { error: 'El reembolso supera lo que queda por reembolsar del pago', code: 'REEMBOLSO_EXCEDE_PAGO', monto: 15.51, reembolsable: 15.5 })
  t.equal((await usuarios.inject(url)).json().reembolsos.length, 1, 'no refund recorded')
  t.ok(await saldo(usuarios, 1) >= before, 'saldo not debited')
  t.equal((await usuarios.inject({ method: 'POST', url, payload: { monto: 15.5 } })).statusCode, 202, 'exactly the rest is fine')
})

t.test('409 PAGO_NO_REEMBOLSABLE for a payment that is not completado', async (t) => {
  // Above PROCESADOR_LIMITE the provider refuses the payment: fallido.
  const { usuarios } = await system(t, undefined, { PROCESADOR_LIMITE: '5' })
  const fallido = await pagado(usuarios, 1, 10)
  t.equal(fallido.estado, 'fallido')
  const body = assertJsonError(t, await usuarios.inject({ method: 'POST', url: `/usuarios/1/pagos/${fallido.id as string}/reembolsos` }), 409, 'fallido')
  t.same(body, { error: 'El pago no se puede reembolsar', code: 'PAGO_NO_REEMBOLSABLE', estado: 'fallido', reembolsable: 0 })

  // usuarios alone: nobody processes the payment, it stays pendiente.
  const { app: solo } = await usuariosApp(t)
  const pendiente = (await solo.inject({ method: 'POST', url: '/usuarios/1/pagar', payload: { monto: 5 } })).json().pago
  const res = assertJsonError(t, await solo.inject({ method: 'POST', url: `/usuarios/1/pagos/${pendiente.id as string}/reembolsos`, payload: { monto: 1 } }), 409, 'pendiente')
  t.match(res, { code: 'PAGO_NO_REEMBOLSABLE', estado: 'pendiente', reembolsable: 0 })
})

t.test('404s: unknown usuario, payment, payment of another usuario, refund', async (t) => {
  const { usuarios } = await system(t)
  const pago = await pagado(usuarios, 1, 5)
  const other = randomUUID()
  t.match(assertJsonError(t, await usuarios.inject({ method: 'POST', url: `/usuarios/999/pagos/${other}/reembolsos` }), 404, 'usuario'), { code: 'USUARIO_NO_ENCONTRADO' })
  t.match(assertJsonError(t, await usuarios.inject({ method: 'POST', url: `/usuarios/1/pagos/${other}/reembolsos` }), 404, 'pago'), { code: 'PAGO_NO_ENCONTRADO' })
  t.match(assertJsonError(t, await usuarios.inject({ method: 'POST', url: `/usuarios/2/pagos/${pago.id as string}/reembolsos` }), 404, 'pago ajeno'), { code: 'PAGO_NO_ENCONTRADO' })
  t.match(assertJsonError(t, await usuarios.inject(`/usuarios/999/pagos/${other}/reembolsos`), 404, 'list, usuario'), { code: 'USUARIO_NO_ENCONTRADO' })
  t.match(assertJsonError(t, await usuarios.inject(`/usuarios/1/pagos/${other}/reembolsos`), 404, 'list, pago'), { code: 'PAGO_NO_ENCONTRADO' })
  t.match(assertJsonError(t, await usuarios.inject(`/usuarios/1/pagos/${pago.id as string}/reembolsos/${other}`), 404, 'reembolso'), { code: 'REEMBOLSO_NO_ENCONTRADO' })
  t.match(assertJsonError(t, await usuarios.inject(`/usuarios/1/pagos/${other}/reembolsos/${other}`), 404, 'reembolso of an unknown payment'), { code: 'PAGO_NO_ENCONTRADO' })
})

t.test('400s name the field; nothing is refunded', async (t) => {
  const { usuarios } = await system(t)
  const pago = await pagado(usuarios, 1, 5)
  const url = `/usuarios/1/pagos/${pago.id as string}/reembolsos`
  const cases: Array<[unknown, string]> = [
    [{ monto: 12.345 }, 'monto'], [{ monto: 0 }, 'monto'], [{ monto: -1 }, 'monto'], [{ monto: '3' }, 'monto'],
    [{ motivo: '   ' }, 'motivo'], [{ motivo: 'a\u0000b' }, 'motivo'], [{ motivo: 'x'.repeat(201) }, 'motivo'], [{ montto: 1 }, 'montto']
  ]
  for (const [payload, campo] of cases) {
    const body = assertJsonError(t, await usuarios.inject({ method: 'POST', url, payload: payload as object }), 400, JSON.stringify(payload))
    t.match(body, { code: 'VALIDACION', campo }, `${JSON.stringify(payload)} names ${campo}`)
  }
  assertJsonError(t, await usuarios.inject('/usuarios/1/pagos/no-uuid/reembolsos'), 400, 'a payment id that is no UUID')
  assertJsonError(t, await usuarios.inject(`${url}/no-uuid`), 400, 'a refund id that is no UUID')
  t.same((await usuarios.inject(url)).json(), { reembolsos: [] })
})

t.test('Idempotency-Key: a retry replays the answer and refunds once; another request with the key is a 422', async (t) => {
  const { usuarios } = await system(t)
  const pago = await pagado(usuarios, 1, 40)
  const url = `/usuarios/1/pagos/${pago.id as string}/reembolsos`
  const headers = { 'idempotency-key': 'reembolso-42' }
  const first = await usuarios.inject({ method: 'POST', url, headers, payload: { monto: 10, motivo: 'Roto' } })
  t.equal(first.statusCode, 202)
  const again = await usuarios.inject({ method: 'POST', url, headers, payload: { monto: 10.0, motivo: 'Roto' } })
  t.equal(again.statusCode, 202)
  t.equal(again.body, first.body, 'the same answer')
  t.equal(again.headers['idempotent-replayed'], 'true')
  t.equal(again.headers.location, first.headers.location)
  t.equal((await usuarios.inject(url)).json().reembolsos.length, 1, 'one refund')
  t.match(assertJsonError(t, await usuarios.inject({ method: 'POST', url, headers, payload: { monto: 11 } }), 422, 'key reused'), { code: 'IDEMPOTENCY_KEY_REUTILIZADA' })
  // A 409 is remembered too.
  const over = await usuarios.inject({ method: 'POST', url, headers: { 'idempotency-key': 'demasiado' }, payload: { monto: 31 } })
  t.equal(over.statusCode, 409)
  t.equal((await usuarios.inject({ method: 'POST', url: '/usuarios/1/recargar', payload: { monto: 1 } })).statusCode, 200)
  const overAgain = await usuarios.inject({ method: 'POST', url, headers: { 'idempotency-key': 'demasiado' }, payload: { monto: 31 } })
  t.equal(overAgain.body, over.body)
  t.equal(overAgain.headers['idempotent-replayed'], 'true')
})

t.test('a provider that refuses the refund: fallido with its reason, nothing credited', async (t) => {
  const { usuarios } = await system(t, { reembolsar: async () => ({ estado: 'fallido', motivo: 'Tarjeta cancelada' }) })
  const pago = await pagado(usuarios, 1, 25)
  const before = await saldo(usuarios, 1)
  const res = await usuarios.inject({ method: 'POST', url: `/usuarios/1/pagos/${pago.id as string}/reembolsos`, payload: { motivo: 'Cambio de idea' } })
  const final = await reembolsoFinal(usuarios, res.headers.location as string)
  t.match(final, { estado: 'fallido', monto: 25, motivo: 'Cambio de idea', motivoFallo: 'Tarjeta cancelada' })
  t.equal(await saldo(usuarios, 1), before, 'nothing credited')
  t.equal((await usuarios.inject(`/usuarios/1/pagos/${pago.id as string}`)).json().reembolsado, 0)
  t.equal((await usuarios.inject({ method: 'POST', url: `/usuarios/1/pagos/${pago.id as string}/reembolsos`, payload: { monto: 25 } })).statusCode, 202,
    'a failed refund no longer counts against the payment')
})

t.test('a reembolso.procesado delivered twice credits once', async (t) => {
  const { usuarios, broker } = await system(t)
  const pago = await pagado(usuarios, 1, 60)
  const res = await usuarios.inject({ method: 'POST', url: `/usuarios/1/pagos/${pago.id as string}/reembolsos`, payload: { monto: 15 } })
  const final = await reembolsoFinal(usuarios, res.headers.location as string)
  const after = await saldo(usuarios, 1)
  const message = { tipo: 'reembolso.procesado', version: 1, reembolsoId: final.id, pagoId: pago.id, usuarioId: 1, montoCentimos: 1500, estado: 'completado', motivo: 'Reembolso aprobado por el proveedor', procesadoEn: new Date().toISOString() }
  for (let i = 0; i < 2; i++) await broker.publishRaw('reembolso.procesado', JSON.stringify(message), { messageId: final.id })
  // A result for a refund usuarios never made, sent last: once it is dead-lettered the copies before it were applied.
  const unknown = randomUUID()
  await broker.publishRaw('reembolso.procesado', JSON.stringify({ ...message, reembolsoId: unknown }), { messageId: unknown })
  const dead = await waitFor('the unknown refund dead-lettered', () => broker.deadLetters('usuarios')[0])
  t.match(dead.reason, `reembolso ${unknown} desconocido`)
  t.equal(await saldo(usuarios, 1), after, 'credited once')
  t.equal(await broker.deadLetterCount('usuarios'), 1, 'a repeat is no poison: only the unknown refund is dead-lettered')
})

t.test('a refund of a payment pagos never processed is dead-lettered with its reason', async (t) => {
  const { broker } = await system(t)
  const pagoId = randomUUID()
  const reembolsoId = randomUUID()
  const message = { tipo: 'reembolso.solicitado', version: 1, reembolsoId, pagoId, usuarioId: 1, montoCentimos: 100, motivo: null, solicitadoEn: new Date().toISOString() }
  await broker.publishRaw('reembolso.solicitado', JSON.stringify(message), { messageId: reembolsoId })
  const dead = await waitFor('dead letter', () => broker.deadLetters('pagos')[0])
  t.equal(dead.messageId, reembolsoId)
  t.equal(dead.cause, 'rejected')
  t.match(dead.reason, `pagos nunca procesó el pago ${pagoId}`)
  // A body that fits no contract names what the queue expects first.
  await broker.publishRaw('reembolso.solicitado', JSON.stringify({ ...message, montoCentimos: 0 }), { messageId: reembolsoId })
  const invalid = await waitFor('invalid dead letter', () => broker.deadLetters('pagos')[1])
  t.equal(invalid.cause, 'invalid')
  t.match(invalid.reason, /contract reembolso\.solicitado v1: \/montoCentimos/)
})

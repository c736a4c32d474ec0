import t from 'tap'
import { call } from '../helpers/http.js'
import { waitFor } from '../helpers/poll.js'
import { startSystem, type System } from '../../lib/launch/system.js'

// A provider that refuses about half the payments (deterministically, by seed):
// every refused payment is refunded and the money invariant holds per user.
let sys: System
t.before(async () => { sys = await startSystem('refunds', { PROCESADOR_TASA_FALLO: '0.5', PROCESADOR_SEMILLA: 'e2e-refunds' }) })
t.teardown(async () => { await sys?.stop() })

t.test('with a failing provider, saldo = initial − completed for every user', async (t) => {
  const gw = sys.gateway.url
  const usuarios = await Promise.all([300, 450.5, 120, 999.99].map(async (saldo, i) =>
    (await call('POST', `${gw}/usuarios`, { nombre: `Refund ${i}`, saldo })).body as { id: number, saldo: number }))
  const montos = [10, 20.25, 0.01, 33.33, 5]
  const sent = await Promise.all(usuarios.flatMap((u) => montos.map(async (monto) =>
    await call('POST', `${gw}/usuarios/${u.id}/pagar`, { monto, concepto: 'refund test' }))))
  t.ok(sent.every((r) => r.status === 202), 'every payment accepted')

  let completados = 0
  let fallidos = 0
  for (const u of usuarios) {
    const pagos = await waitFor(`payments of ${u.id} final`, async () => {
      const r = await call('GET', `${gw}/usuarios/${u.id}/pagos?limit=100`)
      return r.body.pagos.every((p: any) => p.estado !== 'pendiente') && r.body.pagos
    })
    t.equal(pagos.length, montos.length)
    const completedCents = pagos.filter((p: any) => p.estado === 'completado').reduce((sum: number, p: any) => sum + Math.round(p.monto * 100), 0)
    completados += pagos.filter((p: any) => p.estado === 'completado').length
    fallidos += pagos.filter((p: any) => p.estado === 'fallido').length
    const now = (await call('GET', `${gw}/usuarios/${u.id}`)).body
    t.equal(Math.round(now.saldo * 100), Math.round(u.saldo * 100) - completedCents, `invariant for user ${u.id}`)
  }
  t.ok(completados > 0 && fallidos > 0, `both outcomes seen (${completados} completed, ${fallidos} failed)`)
  const status = (await call('GET', `${gw}/pagos/status`)).body
  t.equal(status.procesados, completados)
  t.equal(status.fallidos, fallidos)
})

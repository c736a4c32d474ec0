import t from 'tap'
import { createMemoryBroker } from '../../lib/messaging/memory-broker.js'
import { pagosApp, usuariosApp } from '../helpers/apps.js'
import { waitFor } from '../helpers/poll.js'

// usuarios and pagos on one in-memory broker: the whole payment round trip
// (outbox, relay, both consumers) with nothing running.
t.test('a payment accepted by usuarios is processed by pagos and settled, over the in-memory broker', async (t) => {
  const broker = createMemoryBroker()
  const { app: usuarios } = await usuariosApp(t, { OUTBOX_POLL_MS: '50' }, broker)
  await pagosApp(t, { OUTBOX_POLL_MS: '50', PROCESADOR_LIMITE: '5' }, broker)

  const ok = (await usuarios.inject({ method: 'POST', url: '/usuarios/1/pagar', payload: { monto: 1 }, headers: { 'x-request-id': 'memoria-1' } })).json()
  t.match(ok.pago, { estado: 'pendiente', monto: 1 })
  // Above PROCESADOR_LIMITE: the provider refuses it.
  const tooBig = (await usuarios.inject({ method: 'POST', url: '/usuarios/2/pagar', payload: { monto: 10 } })).json()

  const final = async (usuarioId: number, pagoId: string): Promise<any> => await waitFor(`payment ${pagoId} settled`, async () => {
    const body = (await usuarios.inject(`/usuarios/${usuarioId}/pagos/${pagoId}`)).json()
    return body.estado !== 'pendiente' && body
  })
  t.match(await final(1, ok.pago.id), { estado: 'completado' })
  t.match(await final(2, tooBig.pago.id), { estado: 'fallido' })
  t.equal((await usuarios.inject('/usuarios/2')).json().saldo, tooBig.usuario.saldo + 10, 'the failed payment was refunded')
  t.equal(await broker.deadLetterCount('pagos') + await broker.deadLetterCount('usuarios'), 0, 'nothing dead-lettered')
})

import t from 'tap'
import { startSystem, type System } from '../../lib/launch/system.js'
import { checkStatement, statementRow } from '../../usuarios/statement.js'
import { call } from '../helpers/http.js'
import { allMovimientos } from '../helpers/movimientos.js'
import { waitFor } from '../helpers/poll.js'

// The account statement on the built services, against the real RabbitMQ:
// through the gateway and on usuarios' own port, as JSON pages and as CSV.
// PROCESADOR_LIMITE makes a large payment fail: its money comes back.
let sys: System
t.before(async () => { sys = await startSystem('movimientos', { PROCESADOR_LIMITE: '100' }) })
t.teardown(async () => { await sys?.stop() })

t.test('a usuario\'s movements, through the gateway and direct, JSON and CSV', async (t) => {
  const gw = sys.gateway.url
  const eva = (await call('POST', `${gw}/usuarios`, { nombre: 'Eva', saldo: 300 })).body
  const recarga = (await call('POST', `${gw}/usuarios/${eva.id as number}/recargar`, { monto: 20 })).body
  const ok = (await call('POST', `${gw}/usuarios/${eva.id as number}/pagar`, { monto: 10 })).body
  const falla = (await call('POST', `${gw}/usuarios/${eva.id as number}/pagar`, { monto: 200 })).body
  for (const pago of [ok.pago, falla.pago]) {
    await waitFor(`pago ${pago.id as string} final`, async () => (await call('GET', `${gw}/usuarios/${eva.id as number}/pagos/${pago.id as string}`)).body.estado !== 'pendiente')
  }
  const saldo = (await call('GET', `${gw}/usuarios/${eva.id as number}`)).body.saldo
  t.equal(saldo, 310, '300 + 20 - 10; the failed 200 came back')

  for (const base of [gw, sys.usuarios.url]) {
    const page = await call('GET', `${base}/usuarios/${eva.id as number}/movimientos?limit=2`)
    t.equal(page.status, 200)
    t.match(page.body.movimientos, [
      { tipo: 'devolucion', monto: 200, saldo: 310, referencia: falla.pago.id },
      { tipo: 'pago', monto: -200, saldo: 110, referencia: falla.pago.id }
    ])
    const all = await allMovimientos(async (path) => await call('GET', `${base}${path}`), eva.id, 2)
    t.same(all.map((m) => [m.tipo, m.monto, m.saldo, m.referencia]), [
      ['devolucion', 200, 310, falla.pago.id],
      ['pago', -200, 110, falla.pago.id],
      ['pago', -10, 310, ok.pago.id],
      ['recarga', 20, 320, String(recarga.recarga.id)],
      ['alta', 300, 300, null]
    ], `${base === gw ? 'gateway' : 'usuarios'}: every movement, newest first, following siguiente`)
    t.same(checkStatement(all.map(statementRow), 31_000), [], 'the statement adds up to the saldo')

    const csv = await fetch(`${base}/usuarios/${eva.id as number}/movimientos`, { headers: { accept: 'text/csv' } })
    t.equal(csv.status, 200)
    t.equal(csv.headers.get('content-type'), 'text/csv; charset=utf-8')
    t.equal(csv.headers.get('content-disposition'), `attachment; filename="movimientos-${eva.id as number}.csv"`)
    const lines = (await csv.text()).split('\r\n')
    t.equal(lines[0], 'id,tipo,monto,saldo,fecha,referencia')
    t.same(lines.slice(1, -1), all.map((m) => [m.id, m.tipo, m.monto, m.saldo, m.fecha, m.referencia ?? ''].join(',')), 'the CSV has the same movements')

    const bad = await call('GET', `${base}/usuarios/${eva.id as number}/movimientos?cursor=nope`)
    t.match(bad, { status: 400, body: { code: 'VALIDACION', campo: 'cursor' } })
  }
})

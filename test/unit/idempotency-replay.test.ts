import t from 'tap'
import { fingerprint } from '../../usuarios/store/idempotency.js'
import { usuariosApp, usuariosDb } from '../helpers/apps.js'

/*
 * Regression (stores return outcomes): an Idempotency-Key row holds the HTTP
 * answer first sent, and rows written by the version before the refactor —
 * these are the exact texts it stored — replay byte for byte after an
 * upgrade, with their status and headers.
 */

const T = '2026-01-15T10:00:00.000Z'
const PAGO = '3f1c2a9e-8b7d-4e6f-9a1b-2c3d4e5f6a7b'
const rows = [
  {
    operacion: 'pagar' as const,
    request: { monto: 25.5, concepto: 'Libro' },
    huella: fingerprint({ montoCentimos: 2550, concepto: 'Libro' }),
    status: 202,
    respuesta: `{"mensaje":"Solicitud de pago enviada","usuario":{"id":1,"nombre":"Willis","saldo":474.5,"creadoEn":"${T}"},"pago":{"id":"${PAGO}","usuarioId":1,"estado":"pendiente","monto":25.5,"concepto":"Libro","motivo":null,"creadoEn":"${T}","actualizadoEn":"${T}"}}`
  },
  {
    operacion: 'pagar' as const,
    request: { monto: 600 },
    huella: fingerprint({ montoCentimos: 60_000, concepto: null }),
    status: 409,
    respuesta: '{"error":"Saldo insuficiente","code":"SALDO_INSUFICIENTE","saldo":500,"monto":600}'
  },
  {
    operacion: 'recargar' as const,
    request: { monto: 20 },
    huella: fingerprint({ montoCentimos: 2000 }),
    status: 200,
    respuesta: `{"mensaje":"Recarga realizada","usuario":{"id":1,"nombre":"Willis","saldo":520,"creadoEn":"${T}"},"recarga":{"id":1,"monto":20,"creadoEn":"${T}"}}`
  },
  {
    operacion: 'recargar' as const,
    request: { monto: 1000000000 },
    huella: fingerprint({ montoCentimos: 100_000_000_000 }),
    status: 409,
    respuesta: '{"error":"El saldo superaría el máximo permitido","code":"SALDO_MAXIMO_SUPERADO","saldo":9000000700,"pendiente":0,"monto":1000000000,"saldoMaximo":10000000000}'
  }
]

t.test('Idempotency-Key rows of the previous version replay the same bytes', async (t) => {
  const { app, file } = await usuariosApp(t)
  const db = await usuariosDb(t, file)
  await db.insertInto('idempotencia').values(rows.map((r, i) => ({
    usuario_id: 1, operacion: r.operacion, clave: `antigua-${i}`, huella: r.huella, status: r.status, respuesta: r.respuesta, creado_en: new Date().toISOString()
  }))).execute()
  for (const [i, r] of rows.entries()) {
    const res = await app.inject({ method: 'POST', url: `/usuarios/1/${r.operacion}`, headers: { 'idempotency-key': `antigua-${i}` }, payload: r.request })
    t.equal(res.statusCode, r.status, `${r.operacion} ${r.status}: the stored status`)
    t.equal(res.body, r.respuesta, `${r.operacion} ${r.status}: the stored body, byte for byte`)
    t.equal(res.headers['idempotent-replayed'], 'true')
    if (r.status === 202) t.equal(res.headers.location, `/usuarios/1/pagos/${PAGO}`, 'Location of the payment first accepted')
  }
  t.equal((await app.inject('/usuarios/1')).json().saldo, 500, 'nothing paid or topped up again')
  t.equal((await app.inject('/usuarios/1/pagos')).json().total, 0)
})

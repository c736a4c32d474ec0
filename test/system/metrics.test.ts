import t from 'tap'
import { buildGatewayApp } from '../../gateway/app.js'
import { loadGatewayConfig } from '../../gateway/config.js'
import { brokerAway, pagosApp, silent, usuariosApp } from '../helpers/apps.js'
import { call } from '../helpers/http.js'
import { waitFor } from '../helpers/poll.js'
import { parseExposition, sampleValue, scrape, type Family } from '../helpers/prometheus.js'
import { startSystem, type System } from '../../lib/launch/system.js'

const KEY = 'clave-de-prueba-0123456789'

async function metricsOf (app: { inject: (path: string) => Promise<{ statusCode: number, headers: Record<string, unknown>, body: string }> }): Promise<Map<string, Family>> {
  const res = await app.inject('/metrics')
  if (res.statusCode !== 200) throw new Error(`/metrics answered ${res.statusCode}`)
  if (!String(res.headers['content-type']).startsWith('text/plain; version=0.0.4')) throw new Error(`content-type ${String(res.headers['content-type'])}`)
  return parseExposition(res.body)
}

t.test('the exposition parser refuses what Prometheus would refuse', async (t) => {
  t.throws(() => parseExposition('x 1\n'), /before its TYPE/)
  t.throws(() => parseExposition('# TYPE x counter\nx{a="1",a="2"} 1\n'), /repeated/)
  t.throws(() => parseExposition('# TYPE x counter\nx{a=1} 1\n'), /bad label/)
  t.throws(() => parseExposition('# TYPE x counter\nx one\n'), /not a sample/)
  t.throws(() => parseExposition('# TYPE x counter\nx 1'), /newline/)
  t.throws(() => parseExposition('# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'), /cumulative/)
  t.throws(() => parseExposition('# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 1\n'), /\+Inf/)
  const ok = parseExposition('# HELP x A "quoted" help\n# TYPE x gauge\nx{a="b\\"c\\\\d\\ne"} -1.5e3\n\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 3.5\nh_count 2\n')
  t.equal(sampleValue(ok, 'x', { a: 'b"c\\d\ne' }), -1500)
  t.equal(sampleValue(ok, 'h_count'), 2)
  // Go's ParseFloat, which Prometheus uses, reads NaN in any case; prom-client writes `Nan`.
  t.ok(Number.isNaN(sampleValue(parseExposition('# TYPE g gauge\ng Nan\n'), 'g')))
})

t.test('every service answers /metrics in Prometheus text format, with process metrics', async (t) => {
  const { app: usuarios } = await usuariosApp(t)
  const { app: pagos } = await pagosApp(t)
  const gateway = buildGatewayApp(loadGatewayConfig({ LOG_DIR: t.testdir(), USUARIOS_URL: 'http://127.0.0.1:9', PAGOS_URL: 'http://127.0.0.1:9' }), silent)
  t.teardown(async () => { await gateway.close() })
  for (const [name, app] of [['usuarios', usuarios], ['pagos', pagos], ['gateway', gateway]] as const) {
    const m = await metricsOf(app)
    t.ok(m.has('process_cpu_user_seconds_total'), `${name}: process metrics`)
    t.ok(m.has('nodejs_heap_size_used_bytes'), `${name}: Node.js metrics`)
    t.equal(m.get('http_request_duration_seconds')?.type, 'histogram', `${name}: request histogram`)
    t.ok([...m.values()].every((f) => f.samples.every((s) => s.labels.service === name)), `${name}: every series says service="${name}"`)
  }
})

t.test('the request histogram is labelled by route pattern and status, never by raw URL', async (t) => {
  const { app } = await usuariosApp(t)
  await app.inject('/usuarios/1')
  await app.inject('/usuarios/2')
  await app.inject('/usuarios/999')
  await app.inject('/no/existe/7')
  const m = await metricsOf(app)
  t.equal(sampleValue(m, 'http_request_duration_seconds_count', { method: 'GET', route: '/usuarios/:usuarioId', status_code: '200' }), 2)
  t.equal(sampleValue(m, 'http_request_duration_seconds_count', { method: 'GET', route: '/usuarios/:usuarioId', status_code: '404' }), 1)
  t.equal(sampleValue(m, 'http_request_duration_seconds_count', { route: 'unmatched', status_code: '404' }), 1)
  const routes = new Set(m.get('http_request_duration_seconds')!.samples.map((s) => s.labels.route))
  t.notOk([...routes].some((r) => r !== undefined && /\/\d/.test(r)), `no raw URL among ${[...routes].join(', ')}`)
})

t.test('two apps in one process keep their own registries', async (t) => {
  const { app: a } = await usuariosApp(t)
  const { app: b } = await usuariosApp(t)
  await a.inject({ method: 'POST', url: '/usuarios/1/pagar' })
  t.equal(sampleValue(await metricsOf(a), 'payments_requested_total'), 1)
  t.equal(sampleValue(await metricsOf(b), 'payments_requested_total'), 0, 'the other app counted nothing')
})

t.test('the outbox gauges show what waits to be published, read at scrape time', async (t) => {
  // With the broker away nothing leaves the outbox: the rows stay.
  const { app } = await usuariosApp(t, {}, brokerAway())
  t.equal(sampleValue(await metricsOf(app), 'outbox_backlog'), 0)
  t.equal(sampleValue(await metricsOf(app), 'outbox_oldest_age_seconds'), 0)
  await app.inject({ method: 'POST', url: '/usuarios/1/pagar' })
  await app.inject({ method: 'POST', url: '/usuarios/2/pagar', payload: { monto: 5 } })
  const m = await metricsOf(app)
  t.equal(sampleValue(m, 'outbox_backlog'), 2)
  t.ok(sampleValue(m, 'outbox_oldest_age_seconds')! >= 0)
  t.equal(sampleValue(m, 'payments_requested_total'), 2)
  t.equal(sampleValue(m, 'broker_connected'), 0, 'the broker is away')
})

t.test('a replayed Idempotency-Key and a refused payment count nothing', async (t) => {
  const { app } = await usuariosApp(t)
  const pay = { method: 'POST' as const, url: '/usuarios/1/pagar', payload: { monto: 10 }, headers: { 'idempotency-key': 'metricas-1' } }
  t.equal((await app.inject(pay)).statusCode, 202)
  t.equal((await app.inject(pay)).statusCode, 202)
  t.equal((await app.inject({ method: 'POST', url: '/usuarios/1/pagar', payload: { monto: 100_000 } })).statusCode, 409)
  t.equal(sampleValue(await metricsOf(app), 'payments_requested_total'), 1)
})

t.test('gateway: upstream errors per upstream; its own refusals are not upstream calls', async (t) => {
  const gateway = buildGatewayApp(loadGatewayConfig({ LOG_DIR: t.testdir(), USUARIOS_URL: 'http://127.0.0.1:9', PAGOS_URL: 'http://127.0.0.1:9', GATEWAY_API_KEYS: KEY }), silent)
  t.teardown(async () => { await gateway.close() })
  t.equal((await gateway.inject('/usuarios/1')).statusCode, 401)
  let m = await metricsOf(gateway)
  t.equal(sampleValue(m, 'gateway_upstream_duration_seconds_count'), undefined, 'a 401 never reached an upstream')
  t.equal(sampleValue(m, 'gateway_upstream_errors_total', { upstream: 'usuarios', status_code: '503' }), 0, 'errors start at 0')
  t.equal((await gateway.inject({ url: '/usuarios/1', headers: { authorization: `Bearer ${KEY}` } })).statusCode, 503)
  t.equal((await gateway.inject({ url: '/pagos/status', headers: { authorization: `Bearer ${KEY}` } })).statusCode, 503)
  m = await metricsOf(gateway)
  t.equal(sampleValue(m, 'gateway_upstream_errors_total', { upstream: 'usuarios', status_code: '503' }), 1)
  t.equal(sampleValue(m, 'gateway_upstream_errors_total', { upstream: 'pagos', status_code: '503' }), 1)
  t.equal(sampleValue(m, 'gateway_upstream_duration_seconds_count', { upstream: 'usuarios', status_code: '503' }), 1)
  t.equal((await gateway.inject('/metrics')).statusCode, 200, '/metrics needs no API key')
})

t.test('end to end: after payments every service\'s counters moved', async (t) => {
  // PROCESADOR_LIMITE=1000: a payment above it fails and is refunded.
  let sys: System | undefined
  t.teardown(async () => { await sys?.stop() })
  sys = await startSystem('metrics', { PROCESADOR_LIMITE: '1000' })
  const gw = sys.gateway.url
  const before = await scrape(sys.usuarios.url)
  t.equal(sampleValue(before, 'payments_requested_total'), 0)
  t.equal(sampleValue(before, 'messages_consumed_total', { message: 'pago.procesado' }), 0, 'message counters are there from the start')

  const usuario = await call('POST', `${gw}/usuarios`, { nombre: 'Métrica', saldo: 3000 })
  const ok = await call('POST', `${gw}/usuarios/${usuario.body.id}/pagar`, { monto: 100 })
  const ko = await call('POST', `${gw}/usuarios/${usuario.body.id}/pagar`, { monto: 2000 })
  t.equal(ok.status, 202)
  t.equal(ko.status, 202)
  for (const r of [ok, ko]) {
    await waitFor('payment final', async () => (await call('GET', `${gw}/usuarios/${usuario.body.id}/pagos/${r.body.pago.id}`)).body.estado !== 'pendiente')
  }

  const u = await waitFor('usuarios counters', async () => {
    const m = await scrape(sys!.usuarios.url)
    return sampleValue(m, 'messages_consumed_total', { message: 'pago.procesado' }) === 2 && m
  })
  t.equal(sampleValue(u, 'payments_requested_total'), 2)
  t.equal(sampleValue(u, 'payments_completed_total'), 1)
  t.equal(sampleValue(u, 'payments_failed_total'), 1)
  t.equal(sampleValue(u, 'payments_refunded_total'), 1)
  t.equal(sampleValue(u, 'payments_refunded_cents_total'), 200_000)
  t.equal(sampleValue(u, 'messages_published_total', { message: 'pago.solicitado' }), 2)
  t.equal(sampleValue(u, 'messages_dead_lettered_total'), 0)
  t.equal(sampleValue(u, 'broker_connected'), 1)
  t.equal(sampleValue(u, 'outbox_backlog'), 0)
  t.equal(sampleValue(u, 'http_request_duration_seconds_count', { method: 'POST', route: '/usuarios/:usuarioId/pagar', status_code: '202' }), 2)

  const p = await scrape(sys.pagos.url)
  t.equal(sampleValue(p, 'payments_processed_total', { estado: 'completado' }), 1)
  t.equal(sampleValue(p, 'payments_processed_total', { estado: 'fallido' }), 1)
  t.equal(sampleValue(p, 'messages_consumed_total', { message: 'pago.solicitado' }), 2)
  t.equal(sampleValue(p, 'messages_published_total', { message: 'pago.procesado' }), 2)
  t.equal(sampleValue(p, 'messages_retried_total'), 0)
  t.equal(sampleValue(p, 'broker_connected'), 1)
  t.equal(sampleValue(p, 'outbox_backlog'), 0)

  const g = await scrape(gw)
  t.ok(sampleValue(g, 'gateway_upstream_duration_seconds_count', { upstream: 'usuarios' })! >= 5, 'usuarios calls timed')
  t.equal(sampleValue(g, 'gateway_upstream_duration_seconds_count', { upstream: 'pagos' }), undefined, 'no call went to pagos')
  t.equal(sampleValue(g, 'gateway_upstream_errors_total', { upstream: 'usuarios' }), 0)
  t.equal(sampleValue(g, 'http_request_duration_seconds_count', { method: 'POST', route: '/usuarios/*', status_code: '202' }), 2)
})

import t from 'tap'
import { buildGatewayApp } from '../../gateway/app.js'
import { loadGatewayConfig } from '../../gateway/config.js'
import type { App } from '../../lib/http/http-app.js'
import { pagosApp, silent, usuariosApp, type Test } from '../helpers/apps.js'
import { startGateway } from '../helpers/gateway-fixtures.js'
import { methodsByPath, routeMatches } from '../helpers/routes.js'

/*
 * A known path with a method it does not have is a 405 JSON with Allow,
 * never a 404: the table is every route in the router × every other method.
 */

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']
const PAGO_ID = '3f1c2a9e-8b7d-4e6f-9a1b-2c3d4e5f6a7b'

/** A concrete URL for a route pattern. */
const sample = (path: string): string =>
  path.replace(/:usuarioId/g, '1').replace(/:pagoId/g, PAGO_ID).replace(/:[A-Za-z0-9_]+/g, 'x').replace(/\*$/, 'x')

async function gatewayApp (t: Test): Promise<App> {
  const app = buildGatewayApp(loadGatewayConfig({ LOG_DIR: t.testdir(), USUARIOS_URL: 'http://127.0.0.1:9', PAGOS_URL: 'http://127.0.0.1:9' }), silent)
  t.teardown(async () => { await app.close() })
  await app.ready()
  return app
}

const apps: Array<[string, (t: Test) => Promise<App>]> = [
  ['usuarios', async (t) => (await usuariosApp(t)).app],
  ['pagos', async (t) => (await pagosApp(t)).app],
  ['gateway', gatewayApp]
]

for (const [name, build] of apps) {
  t.test(`${name}: every route × every method it does not have is a 405 with Allow`, async (t) => {
    const app = await build(t)
    const paths = methodsByPath(app)
    let cases = 0
    for (const path of paths.keys()) {
      const url = sample(path)
      // Every route the concrete URL matches (`/pagos/procesar` is also `/pagos/:pagoId`).
      const methods = new Set([...paths].filter(([p]) => routeMatches(p, url)).flatMap(([, m]) => [...m]))
      const allow = [...methods].sort().join(', ')
      for (const method of METHODS.filter((m) => !methods.has(m))) {
        const res = await app.inject({ method: method as 'GET', url })
        cases++
        t.equal(res.statusCode, 405, `${method} ${url}`)
        t.equal(res.headers.allow, allow, `${method} ${url}: Allow`)
        // Answered before any body is read: a bad one does not turn it into a 400 or 415.
        if (method !== 'GET' && method !== 'HEAD') {
          for (const type of ['application/json', 'text/plain']) {
            const bad = await app.inject({ method: method as 'POST', url, headers: { 'content-type': type }, payload: 'x' })
            t.equal(bad.statusCode, 405, `${method} ${url} with a body of ${type} that is not JSON: still the 405`)
          }
        }
        if (method === 'HEAD') continue
        t.match(res.headers['content-type'], /^application\/json/)
        t.same(res.json(), { error: 'Método no permitido', code: 'METODO_NO_PERMITIDO' }, `${method} ${url}: JSON`)
      }
    }
    t.ok(cases >= paths.size, `${cases} cases over ${paths.size} paths`)
  })
}

t.test('a path no route has stays a 404, whatever the method', async (t) => {
  for (const [name, build] of apps) {
    const app = await build(t)
    for (const method of ['GET', 'DELETE']) {
      const res = await app.inject({ method: method as 'GET', url: '/no-existe/1' })
      t.equal(res.statusCode, 404, `${name} ${method}`)
      t.same(res.json(), { error: 'Ruta no encontrada', code: 'RUTA_NO_ENCONTRADA' })
      t.equal(res.headers.allow, undefined)
    }
    const bad = await app.inject({ method: 'POST', url: '/no-existe/1', headers: { 'content-type': 'application/json' }, payload: '{' })
    t.same([bad.statusCode, bad.json()], [404, { error: 'Ruta no encontrada', code: 'RUTA_NO_ENCONTRADA' }], `${name}: POST with a bad body: still the 404`)
  }
})

t.test('DELETE /usuarios/1 is a 405 with Allow: GET, HEAD, directly and through the gateway (issue 12, fault 6)', async (t) => {
  const { app: usuarios } = await usuariosApp(t)
  await usuarios.listen({ port: 0, host: '127.0.0.1' })
  const address = usuarios.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  const gw = await startGateway(t, { USUARIOS_URL: `http://127.0.0.1:${address.port}`, PAGOS_URL: 'http://127.0.0.1:9' })
  for (const [via, base] of [['direct', `http://127.0.0.1:${address.port}`], ['gateway', gw.url]]) {
    const res = await fetch(`${base}/usuarios/1`, { method: 'DELETE' })
    t.equal(res.status, 405, via)
    t.equal(res.headers.get('allow'), 'GET, HEAD', `${via}: Allow`)
    t.same(await res.json(), { error: 'Método no permitido', code: 'METODO_NO_PERMITIDO' }, `${via}: JSON`)
  }
  t.equal((await fetch(`${gw.url}/usuarios/1`)).status, 200, 'and the user is still there')
})

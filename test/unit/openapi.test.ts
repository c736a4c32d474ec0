import { Validator } from '@seriousme/openapi-schema-validator'
import t from 'tap'
import { Value } from 'typebox/value'
import { asyncApiDocument, MessageExamples } from '../../contracts/asyncapi.js'
import type { Operation } from '../../contracts/http/api.js'
import { PagosOperations } from '../../contracts/http/pagos-operations.js'
import { UsuariosOperations } from '../../contracts/http/usuarios-operations.js'
import { decodeMessage, Messages, type MessageName } from '../../contracts/messages.js'
import { plainSchema } from '../../contracts/plain-schema.js'
import { buildGatewayApp } from '../../gateway/app.js'
import { loadGatewayConfig } from '../../gateway/config.js'
import type { App } from '../../lib/http/http-app.js'
import { pagosApp, silent, usuariosApp, type Test } from '../helpers/apps.js'
import { registeredRoutes } from '../helpers/routes.js'

const KEY = 'clave-de-prueba-0123456789'
const METHODS = ['get', 'post', 'put', 'patch', 'delete']

function gatewayApp (t: Test, env: Record<string, string> = {}): App {
  const app = buildGatewayApp(loadGatewayConfig({ LOG_DIR: t.testdir(), USUARIOS_URL: 'http://127.0.0.1:9', PAGOS_URL: 'http://127.0.0.1:9', ...env }), silent)
  t.teardown(async () => { await app.close() })
  return app
}

async function documentOf (app: App, path = '/openapi.json'): Promise<any> {
  const res = await app.inject(path)
  if (res.statusCode !== 200) throw new Error(`${path} answered ${res.statusCode}`)
  if (!String(res.headers['content-type']).startsWith('application/json')) throw new Error(`${path} is ${String(res.headers['content-type'])}`)
  return JSON.parse(res.body)
}

/** `/usuarios/:usuarioId` → `/usuarios/{usuarioId}`, as OpenAPI writes paths. */
const openApiPath = (url: string): string => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')

function operationsOf (doc: any): Map<string, any> {
  const ops = new Map<string, any>()
  for (const [path, item] of Object.entries<any>(doc.paths)) {
    for (const method of METHODS) if (item[method] !== undefined) ops.set(`${method.toUpperCase()} ${path}`, item[method])
  }
  return ops
}

function internalKeys (value: unknown, path = '$'): string[] {
  if (typeof value !== 'object' || value === null) return []
  return Object.entries(value).flatMap(([k, v]) => [...(k.startsWith('~') ? [`${path}.${k}`] : []), ...internalKeys(v, `${path}.${k}`)])
}

async function assertValid (t: Test, doc: unknown, what: string): Promise<void> {
  const result = await new Validator().validate(doc as Parameters<Validator['validate']>[0])
  t.ok(result.valid, `${what} is a valid OpenAPI document`, { errors: result.errors })
  t.same(internalKeys(doc), [], `${what} has no TypeBox-internal keys`)
}

for (const [name, build, operations] of [['usuarios', usuariosApp, UsuariosOperations], ['pagos', pagosApp, PagosOperations]] as const) {
  t.test(`${name}: /openapi.json is valid and lists every route the service registers`, async (t) => {
    const { app } = await build(t)
    const doc = await documentOf(app)
    await assertValid(t, doc, name)
    t.equal(doc.openapi, '3.1.0')
    const ops = operationsOf(doc)
    const routes = registeredRoutes(app)
    t.ok(routes.length >= operations.length + 4, `routes read from the router: ${routes.join(', ')}`)
    for (const route of routes) {
      const [method, url] = route.split(' ') as [string, string]
      const op = ops.get(`${method} ${openApiPath(url)}`)
      t.ok(op, `${route} is documented`)
      t.type(op?.summary, 'string', `${route} has a summary`)
      t.type(op?.operationId, 'string', `${route} has an operationId`)
      t.ok(Object.values<any>(op?.responses ?? {}).every((r) => r.description !== 'Default Response'), `${route}: every response is described`)
    }
    t.equal(ops.size, routes.length, 'and nothing else')
    for (const o of operations) {
      const op = ops.get(`${o.method} ${openApiPath(o.url)}`)
      t.ok(op, `${o.operationId} is served by ${name}`)
      for (const code of Object.keys(o.examples?.response ?? {})) {
        t.ok(op?.responses[code]?.content?.['application/json']?.example, `${o.operationId} ${code} shows its example`)
      }
    }
  })
}

t.test('every example in the contracts fits its schema', async (t) => {
  const check = (o: Operation, part: string, schema: unknown, example: unknown): void => {
    const ok = Value.Check(schema as never, example)
    t.ok(ok, `${o.operationId} ${part} example`, { errors: ok ? [] : [...Value.Errors(schema as never, example)].slice(0, 3) })
  }
  for (const o of [...UsuariosOperations, ...PagosOperations]) {
    if (o.examples?.body !== undefined) check(o, 'body', o.schema.body, o.examples.body)
    for (const [code, example] of Object.entries(o.examples?.response ?? {})) check(o, code, o.schema.response[Number(code)], example)
  }
  for (const name of Object.keys(Messages) as MessageName[]) {
    t.ok(decodeMessage(name, MessageExamples[name]).ok, `${name} example passes its contract`)
  }
})

t.test('gateway: one valid document for everything it routes, plus its own routes', async (t) => {
  const { app: usuarios } = await usuariosApp(t)
  const { app: pagos } = await pagosApp(t)
  const gateway = gatewayApp(t)
  const doc = await documentOf(gateway)
  await assertValid(t, doc, 'gateway')
  const ops = operationsOf(doc)
  for (const [service, app] of [['usuarios', usuarios], ['pagos', pagos]] as const) {
    const own = operationsOf(await documentOf(app))
    const routed = [...own.keys()].filter((k) => k.split(' ')[1]!.startsWith(`/${service}`))
    t.ok(routed.length >= 4, `${service} routes something`)
    for (const key of routed) {
      t.ok(ops.has(key), `gateway documents ${key}`)
      t.same(Object.keys(ops.get(key)?.responses ?? {}).filter((c) => own.get(key).responses[c] !== undefined).sort(), Object.keys(own.get(key).responses).sort(), `${key}: the service's responses`)
      t.same(ops.get(key)?.responses['200'] ?? ops.get(key)?.responses['202'] ?? null, own.get(key).responses['200'] ?? own.get(key).responses['202'] ?? null, `${key}: same success schema as the service`)
      for (const code of ['413', '429', '502', '503', '504']) t.ok(ops.get(key)?.responses[code], `${key}: the gateway's ${code}`)
    }
  }
  for (const own of ['GET /health', 'GET /health/live', 'GET /metrics', 'GET /openapi.json', 'GET /asyncapi.json']) t.ok(ops.has(own), `gateway documents ${own}`)
  t.notOk(ops.has('GET /health/ready'), 'services\' readiness is not routed by the gateway')
  t.notOk(doc.components?.securitySchemes, 'no API keys: no security scheme')
  t.notOk(ops.get('POST /usuarios/{usuarioId}/pagar').responses['401'], 'no API keys: no 401')
})

t.test('gateway with API keys: the document says which calls need the key; docs and dashboard stay open', async (t) => {
  const gateway = gatewayApp(t, { GATEWAY_API_KEYS: KEY })
  const doc = await documentOf(gateway)
  await assertValid(t, doc, 'gateway with keys')
  t.same(doc.components.securitySchemes.claveApi, { type: 'http', scheme: 'bearer', description: 'Una de las claves de `GATEWAY_API_KEYS`' })
  const ops = operationsOf(doc)
  t.same(ops.get('POST /usuarios/{usuarioId}/pagar').security, [{ claveApi: [] }])
  t.ok(ops.get('GET /pagos/status').responses['401'])
  t.notOk(ops.get('GET /health').security, '/health needs no key')

  for (const path of ['/', '/docs', '/docs/json', '/openapi.json', '/asyncapi.json', '/mensajes.html', '/app.js', '/styles.css']) {
    t.equal((await gateway.inject(path)).statusCode, 200, `${path} answers without a key`)
  }
  const ui = await gateway.inject('/docs')
  t.match(ui.headers['content-type'], /^text\/html/)
  t.match(ui.body, /swagger/i, 'Swagger UI')
  const shown = JSON.parse((await gateway.inject('/docs/json')).body)
  t.same({ ...shown, info: { ...shown.info, description: doc.info.description } }, doc, 'Swagger UI shows the same document')
  t.match(shown.info.description, /tal como la sirve el gateway \(en `localhost(:\d+)?`\)/, 'naming the address it was asked on')
  t.equal((await gateway.inject('/usuarios/1')).statusCode, 401, 'the API itself still needs the key')
})

t.test('AsyncAPI: both messages with the contracts\' own schemas', async (t) => {
  const gateway = gatewayApp(t)
  const doc = await documentOf(gateway, '/asyncapi.json')
  t.equal(doc.asyncapi, '3.0.0')
  t.same(internalKeys(doc), [])
  const messages = Object.values<any>(doc.components.messages)
  t.same(messages.map((m) => m.name).sort(), Object.keys(Messages).sort())
  for (const m of messages) {
    t.same(m.payload, plainSchema(Messages[m.name as MessageName]), `${m.name}: payload schema is the contract`)
    t.equal(m.contentType, 'application/json')
  }
  for (const op of Object.values<any>(doc.operations)) {
    t.ok(doc.channels[op.channel.$ref.replace('#/channels/', '')], `${String(op.action)} ${String(op.channel.$ref)} exists`)
  }
  t.match(JSON.stringify(doc.channels), /"pagos\.events"/, 'the default prefix\'s exchange')

  const { app: pagos } = await pagosApp(t, { AMQP_PREFIX: 'otro-prefijo' })
  t.same(await documentOf(pagos, '/asyncapi.json'), asyncApiDocument('otro-prefijo'), 'a service documents its own prefix')
})

t.test('a browser asking for HTML still gets JSON from every JSON endpoint', async (t) => {
  const html = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' }
  const { app: usuarios } = await usuariosApp(t)
  const { app: pagos } = await pagosApp(t)
  const gateway = gatewayApp(t)
  const cases: Array<[string, App, string, number]> = [
    ['usuarios', usuarios, '/usuarios/1', 200],
    ['usuarios', usuarios, '/usuarios/999', 404],
    ['pagos', pagos, '/pagos/status', 200],
    ['gateway', gateway, '/health', 503],
    ['gateway', gateway, '/usuarios/1', 503],
    ['gateway', gateway, '/no-existe', 404],
    ['gateway', gateway, '/openapi.json', 200]
  ]
  for (const [name, app, path, status] of cases) {
    const res = await app.inject({ url: path, headers: html })
    t.equal(res.statusCode, status, `${name} ${path}`)
    t.match(res.headers['content-type'], /^application\/json/, `${name} ${path} is JSON`)
    t.doesNotThrow(() => JSON.parse(res.body))
  }
  const page = await gateway.inject({ url: '/', headers: html })
  t.match(page.headers['content-type'], /^text\/html/, 'the dashboard is the one HTML page at /')
  t.match(page.headers['content-security-policy'], /default-src 'none'/)
})

t.test('path parameters are named for what they are, and pagar links to the payment it made', async (t) => {
  const { app: usuarios } = await usuariosApp(t)
  const { app: pagos } = await pagosApp(t)
  for (const [name, doc] of [['usuarios', await documentOf(usuarios)], ['pagos', await documentOf(pagos)], ['gateway', await documentOf(gatewayApp(t))]] as const) {
    const paths = Object.keys(doc.paths)
    t.same(paths.filter((p) => p.includes('{id}')), [], `${name}: no path says {id}`)
    for (const p of paths.filter((x) => x.startsWith('/usuarios/{'))) t.match(p, /^\/usuarios\/\{usuarioId\}/, `${name}: ${p}`)
    for (const p of paths.filter((x) => /\{pagoId\}|^\/pagos\/\{/.test(x))) t.match(p, /\{pagoId\}(\/reembolsos(\/\{reembolsoId\})?)?$/, `${name}: ${p}`)
    if (name === 'pagos') continue
    const ops = operationsOf(doc)
    const byId = new Map([...ops.values()].map((op) => [op.operationId, op]))
    const links = ops.get('POST /usuarios/{usuarioId}/pagar').responses['202'].links
    t.equal(ops.get('POST /usuarios/{usuarioId}/pagar').requestBody.required, false, `${name}: pagar's body is optional (no body pays the default amount)`)
    t.equal(ops.get('POST /usuarios/{usuarioId}/recargar').requestBody.required, true, `${name}: recargar's body is required`)
    t.ok(ops.get('POST /usuarios/{usuarioId}/pagar').responses['417'], `${name}: the 417 of an unknown Expect is listed`)
    t.ok(ops.get('POST /usuarios/{usuarioId}/pagar').responses['501'] && ops.get('GET /usuarios/{usuarioId}').responses['505'], `${name}: the 501 of a transfer coding and the 505 of an HTTP version are listed`)
    t.same(Object.keys(links ?? {}).sort(), ['obtenerPago', 'obtenerPagoProcesado', 'obtenerUsuario'], `${name}: pagar's 202 links`)
    for (const [linkName, link] of Object.entries<any>(links ?? {})) {
      const target = byId.get(link.operationId) ?? (name === 'usuarios' && link.operationId === 'obtenerPagoProcesado' ? 'served by pagos' : undefined)
      t.ok(target, `${name}: ${linkName} → ${String(link.operationId)} exists`)
      if (typeof target === 'string') continue
      const params = (target?.parameters ?? []).filter((p: any) => p.in === 'path').map((p: any) => p.name).sort()
      t.same(Object.keys(link.parameters).sort(), params, `${name}: ${linkName} fills every path parameter of ${String(link.operationId)}`)
    }
  }
})

t.test('what the HTTP stack answers on its own is in the documents', async (t) => {
  const { app: usuarios } = await usuariosApp(t)
  const { app: pagos } = await pagosApp(t)
  for (const [name, doc] of [['usuarios', await documentOf(usuarios)], ['pagos', await documentOf(pagos)], ['gateway', await documentOf(gatewayApp(t))]] as const) {
    for (const [key, op] of operationsOf(doc)) {
      const codes = Object.keys(op.responses)
      for (const code of ['400', '408', '414', '431', '500', '503']) t.ok(codes.includes(code), `${name} ${key}: ${code}`)
      if (key.startsWith('POST ')) for (const code of ['413', '415']) t.ok(codes.includes(code), `${name} ${key}: ${code}`)
      t.same(Object.values<any>(op.responses['500'].content)[0].schema.required, ['error'], `${name} ${key}: 500 is an error object`)
    }
    t.match(doc.components.responses.MetodoNoPermitido, { headers: { Allow: {} }, content: { 'application/json': { example: { code: 'METODO_NO_PERMITIDO' } } } }, `${name}: 405 with Allow`)
  }
})

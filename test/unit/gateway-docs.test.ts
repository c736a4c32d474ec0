import t from 'tap'
import { buildGatewayApp } from '../../gateway/app.js'
import { loadGatewayConfig } from '../../gateway/config.js'
import { describeHost } from '../../gateway/docs.js'
import { silent } from '../helpers/apps.js'

// Swagger UI names the address it was asked on (the gateway's port is
// GATEWAY_PORT, 0 in tests), never a fixed "(puerto 5002)"; its logo is ours.

t.test('Swagger UI\'s description names the Host of the request', async (t) => {
  const gateway = buildGatewayApp(loadGatewayConfig({ LOG_DIR: t.testdir(), USUARIOS_URL: 'http://127.0.0.1:9', PAGOS_URL: 'http://127.0.0.1:9' }), silent)
  t.teardown(async () => { await gateway.close() })
  const ui = await gateway.inject({ url: '/docs/json', headers: { host: 'pagos.example:8443' } })
  t.equal(ui.statusCode, 200)
  t.match(ui.json().info.description, /tal como la sirve el gateway \(en `pagos\.example:8443`\):/)
  const doc = await gateway.inject('/openapi.json')
  t.notMatch(doc.json().info.description, /puerto/, 'the document itself names no port')
  const init = await gateway.inject('/docs/static/swagger-initializer.js')
  t.match(init.body, /data:image\/svg\+xml;base64,/, 'our logo replaces the stock one')
})

t.test('a Host that is not a plain host[:port] is left out', async (t) => {
  t.equal(describeHost('tal como la sirve el gateway: x', 'a b<script>'), 'tal como la sirve el gateway: x')
  t.equal(describeHost('tal como la sirve el gateway: x', undefined), 'tal como la sirve el gateway: x')
  t.equal(describeHost('tal como la sirve el gateway: x', '[::1]:5002'), 'tal como la sirve el gateway (en `[::1]:5002`): x')
})

import { readFileSync } from 'node:fs'
import t from 'tap'
import { buildGatewayApp } from '../../gateway/app.js'
import { loadGatewayConfig } from '../../gateway/config.js'
import { silent } from '../helpers/apps.js'

/*
 * The dashboard is plain browser ES modules (no build step): index.html loads
 * app.js as a module, which imports the others. Without Chromium (the
 * browser test then skips) this still checks that every module it imports,
 * transitively, is served by the gateway as JavaScript under the page's CSP.
 */

const IMPORT = /^import\s[^'"]*from\s+'\.\/([a-z-]+\.js)'/gm

t.test('every module the dashboard imports is served as JavaScript under the CSP', async (t) => {
  const html = readFileSync(new URL('../../gateway/public/index.html', import.meta.url), 'utf8')
  t.match(html, /<script type="module" src="\/app\.js"><\/script>/, 'app.js is loaded as a module')
  const gateway = buildGatewayApp(loadGatewayConfig({ LOG_DIR: t.testdir(), USUARIOS_URL: 'http://127.0.0.1:9', PAGOS_URL: 'http://127.0.0.1:9' }), silent)
  t.teardown(async () => { await gateway.close() })
  const seen = new Set<string>()
  const pending = ['app.js']
  while (pending.length > 0) {
    const file = pending.pop()!
    if (seen.has(file)) continue
    seen.add(file)
    const res = await gateway.inject(`/${file}`)
    t.equal(res.statusCode, 200, `/${file} is served`)
    t.match(res.headers['content-type'], /javascript/, `/${file} is JavaScript`)
    t.match(res.headers['content-security-policy'], /script-src 'self'/)
    for (const m of res.body.matchAll(IMPORT)) pending.push(m[1]!)
  }
  t.ok(seen.size > 1, `app.js imports the other modules (${[...seen].join(', ')})`)
})

import { readFileSync } from 'node:fs'
import t from 'tap'
import { deadUrl, startGateway } from '../helpers/gateway-fixtures.js'
import { parseAnswer, rawClient } from '../helpers/raw-http.js'

// The gateway's static files (the dashboard's, and Swagger UI's under
// /docs/static) answered @fastify/send's errors in English without a code
// (`416 {"error":"Range Not Satisfiable"}`, `403 {"error":"Forbidden"}`),
// and took an invalid range (`bytes=5-1`, to be ignored: RFC 9110 §14.2)
// for an unsatisfiable one. Now a Range header is ignored (the whole file,
// 200) and every error is the catalogue's `{error, code}` in Spanish.

const STYLES = readFileSync(new URL('../../gateway/public/styles.css', import.meta.url), 'utf8')
const DOCS_CSS = readFileSync(new URL('../../node_modules/@fastify/swagger-ui/static/index.css', import.meta.url), 'utf8')
const NOT_FOUND = { error: 'Ruta no encontrada', code: 'RUTA_NO_ENCONTRADA' }

t.test('the static files of the dashboard and of /docs', async (t) => {
  const gw = await startGateway(t, { USUARIOS_URL: await deadUrl(), PAGOS_URL: await deadUrl() })
  const files = [
    { url: '/styles.css', type: 'text/css; charset=utf-8', body: STYLES },
    { url: '/docs/static/index.css', type: 'text/css; charset=utf-8', body: DOCS_CSS }
  ]

  for (const file of files) {
    t.test(`${file.url}: a plain GET is the whole file, and no range is offered`, async (t) => {
      const res = await fetch(gw.url + file.url)
      t.equal(res.status, 200)
      t.equal(res.headers.get('content-type'), file.type)
      t.equal(res.headers.get('accept-ranges'), null, 'no Accept-Ranges: bytes')
      t.equal(await res.text(), file.body)
    })

    for (const range of ['bytes=999999-', 'bytes=5-1', 'bytes=0-3']) {
      t.test(`${file.url} with Range: ${range} is the whole file, 200`, async (t) => {
        const res = await fetch(gw.url + file.url, { headers: { range } })
        t.equal(res.status, 200)
        t.equal(res.headers.get('content-type'), file.type)
        t.equal(res.headers.get('content-range'), null)
        t.equal(await res.text(), file.body)
      })
    }

    t.test(`${file.url} with an If-Match it fails is a 412 in the catalogue's shape`, async (t) => {
      const res = await fetch(gw.url + file.url, { headers: { 'if-match': '"otro"' } })
      t.equal(res.status, 412)
      t.same(await res.json(), {
        error: 'El archivo no cumple la condición de la petición (If-Match o If-Unmodified-Since)',
        code: 'GATEWAY_ERR_PRECONDICION_FALLIDA'
      })
    })
  }

  // fetch would resolve the `..` (also as %2e%2e) before sending: raw bytes.
  for (const path of ['/docs/static/%2e%2e/%2e%2e/package.json', '/docs/static/../../package.json', '/docs/static/%2e%2e']) {
    t.test(`GET ${path} as is: the usual 404, as any unknown path`, async (t) => {
      const client = await rawClient(t, gw.url)
      client.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`)
      await client.waitClosed(5_000)
      const answer = parseAnswer(client.received())
      t.equal(answer.status, 404)
      t.equal(answer.headers['content-type'], 'application/json; charset=utf-8')
      t.same(JSON.parse(answer.body), NOT_FOUND)
    })
  }

  t.test('a NUL byte in a /docs/static path is the 400 URL_INVALIDA', async (t) => {
    const res = await fetch(`${gw.url}/docs/static/a%00b.css`)
    t.equal(res.status, 400)
    t.same(await res.json(), { error: 'URL inválida', code: 'URL_INVALIDA' })
  })
})

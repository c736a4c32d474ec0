import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { parseApiKeys } from '../../gateway/auth.js'
import { createLogger } from '../../lib/process/logger.js'
import { waitFor } from '../helpers/poll.js'
import { deadUrl, echoUpstream, startGateway } from '../helpers/gateway-fixtures.js'

const KEY_A = 'clave-de-prueba-A-0123456789abcdef'
const KEY_B = 'otra+clave/de_prueba~B.0123456789=='
const KEYS = `${KEY_A}, ${KEY_B}`

async function jsonOf (res: Response): Promise<any> {
  return await res.json()
}

/** What the path looks like on the wire, untouched by fetch's URL normalisation. */
async function rawGet (base: string, path: string): Promise<number> {
  const { hostname, port } = new URL(base)
  const socket = connect(Number(port), hostname)
  socket.setTimeout(5_000, () => socket.destroy(new Error('no answer')))
  socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\nConnection: close\r\n\r\n`)
  let raw = ''
  for await (const chunk of socket) raw += String(chunk)
  return Number(raw.slice(9, 12))
}

t.test('with GATEWAY_API_KEYS set, /usuarios and /pagos need a valid Bearer key', async (t) => {
  const usuarios = await echoUpstream(t, 'usuarios')
  const pagos = await echoUpstream(t, 'pagos')
  const gw = await startGateway(t, { USUARIOS_URL: usuarios.url, PAGOS_URL: pagos.url, GATEWAY_API_KEYS: KEYS, LOG_LEVEL: 'trace' })

  t.test('no key: 401 JSON with WWW-Authenticate, and the service is never asked', async (t) => {
    const before = usuarios.hits.length + pagos.hits.length
    for (const [method, path] of [['GET', '/usuarios/1'], ['GET', '/usuarios'], ['POST', '/usuarios/1/pagar'], ['GET', '/pagos/status'], ['POST', '/pagos/procesar']]) {
      const res = await fetch(`${gw.url}${path!}`, { method })
      t.equal(res.status, 401, `${method!} ${path!}`)
      t.match(res.headers.get('content-type'), /^application\/json/)
      t.equal(res.headers.get('www-authenticate'), 'Bearer realm="pagos"')
      t.same(await jsonOf(res), { error: 'No autorizado', code: 'GATEWAY_ERR_NO_AUTORIZADO' })
    }
    t.equal(usuarios.hits.length + pagos.hits.length, before)
  })

  t.test('a wrong key is a 401 saying the token is invalid', async (t) => {
    const wrong = [`Bearer ${KEY_A}x`, `Bearer ${KEY_A.slice(0, -1)}`, 'Bearer ', `Basic ${Buffer.from(`u:${KEY_A}`).toString('base64')}`, KEY_A, `Bearer ${KEY_A} ${KEY_B}`]
    for (const authorization of wrong) {
      const res = await fetch(`${gw.url}/usuarios/1`, { headers: { authorization } })
      t.equal(res.status, 401, authorization)
      t.equal(res.headers.get('www-authenticate'), 'Bearer realm="pagos", error="invalid_token"')
      t.same(await jsonOf(res), { error: 'No autorizado', code: 'GATEWAY_ERR_NO_AUTORIZADO' })
    }
  })

  t.test('either configured key is a 200; the service does not see the key', async (t) => {
    for (const key of [KEY_A, KEY_B]) {
      const res = await fetch(`${gw.url}/usuarios/1?x=1`, { headers: { authorization: `Bearer ${key}` } })
      t.equal(res.status, 200)
      const echo = await jsonOf(res)
      t.match(echo, { servicio: 'usuarios', method: 'GET', url: '/usuarios/1?x=1' })
      t.notOk('authorization' in echo.headers, 'Authorization is not forwarded')
    }
    const pay = await fetch(`${gw.url}/usuarios/1/pagar`, { method: 'POST', headers: { authorization: `bearer ${KEY_B}`, 'content-type': 'application/json' }, body: '{"monto":5}' })
    t.equal(pay.status, 200, 'the scheme is case-insensitive')
    const status = await fetch(`${gw.url}/pagos/status`, { headers: { authorization: `Bearer ${KEY_A}` } })
    t.match(await jsonOf(status), { servicio: 'pagos', url: '/pagos/status' })
  })

  t.test('/health and /health/live stay open; an unknown path is still a 404', async (t) => {
    t.equal((await fetch(`${gw.url}/health`)).status, 200)
    t.equal((await fetch(`${gw.url}/health/live`)).status, 200)
    const res = await fetch(`${gw.url}/otra/cosa`)
    t.equal(res.status, 404)
  })

  t.test('no spelling of a protected path reaches a service without a key', async (t) => {
    const before = usuarios.hits.length + pagos.hits.length
    for (const path of ['/usuarios/', '/usuarios//1', '/%75suarios/1', '//usuarios/1', '/usuarios%2f1', '/pagos/../usuarios/1', '/pagos;/status', '/usuarios?x=/health']) {
      const status = await rawGet(gw.url, path)
      t.ok(status === 401 || status === 404 || status === 400, `${path} → ${status}`)
    }
    t.equal(usuarios.hits.length + pagos.hits.length, before, 'no request reached a service')
  })

  t.test('keys never reach the log file, while the refusals are logged', async (t) => {
    const log = await gw.closeAndReadLog()
    t.match(log, /unauthorized request/, 'the log file has the refusals')
    t.match(log, /"url":"\/usuarios\/1\?x=1"/, 'and the accepted calls')
    for (const key of [KEY_A, KEY_B, KEY_A.slice(0, 16), Buffer.from(`u:${KEY_A}`).toString('base64')]) {
      t.notOk(log.includes(key), `the log has no trace of ${key.slice(0, 6)}…`)
    }
  })
})

t.test('without GATEWAY_API_KEYS the gateway is open, as the original was', async (t) => {
  const usuarios = await echoUpstream(t, 'usuarios')
  const gw = await startGateway(t, { USUARIOS_URL: usuarios.url, PAGOS_URL: await deadUrl() })
  const res = await fetch(`${gw.url}/usuarios/1`)
  t.equal(res.status, 200)
})

t.test('the logger redacts an Authorization header even when a line carries the headers', async (t) => {
  const dir = t.testdir()
  const { logger, flush } = createLogger({ service: 'gateway', LOG_DIR: dir, LOG_LEVEL: 'info', LOG_STDOUT: 'off' })
  logger.info({ req: { headers: { authorization: `Bearer ${KEY_A}` } }, headers: { authorization: `Bearer ${KEY_B}` } }, 'with headers')
  // The file opens asynchronously: flush until the line is there.
  const log = await waitFor('the log line', () => {
    flush()
    const text = readFileSync(join(dir, 'gateway.log'), 'utf8')
    return text.includes('with headers') ? text : undefined
  })
  t.match(log, /\[redacted\]/)
  t.notOk(log.includes(KEY_A) || log.includes(KEY_B))
})

t.test('GATEWAY_API_KEYS is checked at start, and a bad key is never echoed', async (t) => {
  t.same(parseApiKeys(undefined), [])
  t.same(parseApiKeys(''), [])
  t.same(parseApiKeys(` ${KEY_A} ,${KEY_B},`), [KEY_A, KEY_B])
  for (const bad of ['corta', `${KEY_A},con espacio 0123456789abcdef`, `${KEY_A},"comillas0123456789"`]) {
    t.throws(() => parseApiKeys(bad), { name: 'ConfigError', message: /GATEWAY_API_KEYS/ })
  }
  try {
    parseApiKeys(`${KEY_A},secreto-corto`)
  } catch (err) {
    t.match((err as Error).message, /key #2/)
    t.notMatch((err as Error).message, /secreto-corto|clave-de-prueba/)
  }

  const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/server.ts'], {
    cwd: new URL('../..', import.meta.url).pathname,
    env: { ...process.env, LOG_DIR: t.testdir(), LOG_STDOUT: 'json', GATEWAY_PORT: '0', GATEWAY_HOST: '127.0.0.1', GATEWAY_API_KEYS: 'secreto-corto' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let output = ''
  child.stdout.on('data', (d) => { output += String(d) })
  child.stderr.on('data', (d) => { output += String(d) })
  const [code] = await once(child, 'exit')
  t.equal(code, 1, 'the gateway does not start')
  t.match(output, /GATEWAY_API_KEYS/)
  t.notMatch(output, /secreto-corto/, 'the bad key is not printed')
})

t.test('gateway errors name the service, never its address, and show no stack', async (t) => {
  const dead = await deadUrl()
  const gw = await startGateway(t, { USUARIOS_URL: dead, PAGOS_URL: dead, GATEWAY_API_KEYS: KEY_A })
  const { port } = new URL(dead)
  for (const path of ['/usuarios/1', '/pagos/status']) {
    const res = await fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${KEY_A}` } })
    t.equal(res.status, 503, path)
    const text = await res.text()
    t.notMatch(text, /127\.0\.0\.1|localhost/, `${path}: no host`)
    t.notOk(text.includes(`:${port}`), `${path}: no port`)
    t.notMatch(text, /"stack"|at .*\.(ts|js):\d+/, `${path}: no stack`)
  }
  const health = await fetch(`${gw.url}/health`)
  t.equal(health.status, 503)
  const text = await health.text()
  t.notMatch(text, /"stack"|at .*\.(ts|js):\d+/, '/health: no stack')
  const errors = [...text.matchAll(/"error":"([^"]*)"/g)].map((m) => m[1]!)
  t.ok(errors.length > 0 && errors.every((e) => /^Servicio (usuarios|pagos) /.test(e) && !e.includes('127.0.0.1') && !e.includes(port)), '/health: its error messages name the service, not its address', { errors })
})

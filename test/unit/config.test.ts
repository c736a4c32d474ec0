import t from 'tap'
import { ConfigError } from '../../lib/process/config.js'
import { loadPagosConfig } from '../../pagos/config.js'
import { loadUsuariosConfig } from '../../usuarios/config.js'

t.test('with no env at all, both services get the documented defaults', async (t) => {
  const u = loadUsuariosConfig({})
  t.match(u, {
    USUARIOS_PORT: 5004,
    HOST: '127.0.0.1',
    PAGO_MONTO_DEFECTO: 100,
    DATA_DIR: 'data',
    LOG_DIR: 'logs',
    AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
    AMQP_PREFIX: 'pagos',
    IDEMPOTENCY_TTL_HOURS: 24
  })
  t.equal(u.USUARIOS_DB_FILE, undefined)

  const p = loadPagosConfig({})
  t.match(p, {
    PAGOS_PORT: 5001,
    HOST: '127.0.0.1',
    PROCESADOR: 'simulado',
    PROCESADOR_LATENCIA_MS: 0,
    PROCESADOR_TASA_FALLO: 0,
    PROCESADOR_LIMITE: 1_000_000
  })
  t.equal(p.PROCESADOR_SEMILLA, undefined)
})

t.test('env strings become the declared types', async (t) => {
  const u = loadUsuariosConfig({ USUARIOS_PORT: '6000', PAGO_MONTO_DEFECTO: '12.5', HOST: '0.0.0.0', IDEMPOTENCY_TTL_HOURS: '48' })
  t.equal(u.USUARIOS_PORT, 6000)
  t.equal(u.PAGO_MONTO_DEFECTO, 12.5)
  t.equal(u.HOST, '0.0.0.0')
  t.equal(u.IDEMPOTENCY_TTL_HOURS, 48)

  const p = loadPagosConfig({ PROCESADOR_TASA_FALLO: '0.5', PROCESADOR_LIMITE: '300', PROCESADOR_LATENCIA_MS: '25', PAGOS_PORT: '0', PROCESADOR_SEMILLA: 's1' })
  t.equal(p.PROCESADOR_TASA_FALLO, 0.5)
  t.equal(p.PROCESADOR_LIMITE, 300)
  t.equal(p.PROCESADOR_LATENCIA_MS, 25)
  t.equal(p.PAGOS_PORT, 0, 'port 0 picks a free port')
  t.equal(p.PROCESADOR_SEMILLA, 's1')
})

t.test('an empty variable counts as unset; unrelated variables are ignored', async (t) => {
  const u = loadUsuariosConfig({ USUARIOS_PORT: '', PATH: '/usr/bin', OTRA: 'x' })
  t.equal(u.USUARIOS_PORT, 5004)
  t.notOk('PATH' in u)
})

t.test('a bad value stops the service with a message naming the variable', async (t) => {
  const usuarios: Array<[string, string]> = [
    ['USUARIOS_PORT', '70000'],
    ['USUARIOS_PORT', 'abc'],
    ['AMQP_URL', 'http://x'],
    ['PAGO_MONTO_DEFECTO', '1.234'],
    ['PAGO_MONTO_DEFECTO', '0'],
    ['PAGO_MONTO_DEFECTO', '-5'],
    ['IDEMPOTENCY_TTL_HOURS', '1'],
    ['LOG_LEVEL', 'verbose'],
    ['AMQP_PREFIX', 'con espacios'],
    ['SQLITE_SYNCHRONOUS', 'OFF']
  ]
  for (const [name, value] of usuarios) {
    t.throws(() => loadUsuariosConfig({ [name]: value }), ConfigError, `${name}=${value} is refused`)
    t.throws(() => loadUsuariosConfig({ [name]: value }), { message: new RegExp(`^Invalid environment variable ${name}=`) }, `and the message names ${name}`)
  }

  const pagos: Array<[string, string]> = [
    ['PROCESADOR_TASA_FALLO', '2'],
    ['PROCESADOR_TASA_FALLO', '-0.1'],
    ['PROCESADOR_TASA_FALLO', 'mucho'],
    ['PROCESADOR_LIMITE', '1.234'],
    ['PROCESADOR_LATENCIA_MS', '-1'],
    ['PROCESADOR', 'real'],
    ['PAGOS_PORT', '65536'],
    ['AMQP_URL', 'http://x']
  ]
  for (const [name, value] of pagos) {
    t.throws(() => loadPagosConfig({ [name]: value }), { name: 'ConfigError', message: new RegExp(`^Invalid environment variable ${name}=`) }, `${name}=${value} is refused, naming ${name}`)
  }
})

t.test('the message shows the bad value and why', async (t) => {
  t.throws(() => loadUsuariosConfig({ USUARIOS_PORT: '70000' }), { message: /USUARIOS_PORT="?70000"?: .*65535/ })
  t.throws(() => loadPagosConfig({ AMQP_URL: 'http://x' }), { message: /AMQP_URL="http:\/\/x": / })
})

// Value.Convert truncates a fractional string to an integer, so a typo such as
// USUARIOS_PORT=50.5 would start the service on port 50 instead of stopping it.
t.test('a fractional value for an integer variable is refused, not truncated', async (t) => {
  t.throws(() => loadUsuariosConfig({ USUARIOS_PORT: '50.5' }), { name: 'ConfigError', message: /USUARIOS_PORT/ }, 'USUARIOS_PORT=50.5')
  t.throws(() => loadPagosConfig({ PROCESADOR_LATENCIA_MS: '1.5' }), { name: 'ConfigError', message: /PROCESADOR_LATENCIA_MS/ }, 'PROCESADOR_LATENCIA_MS=1.5')
  t.throws(() => loadUsuariosConfig({ AMQP_PREFETCH: '2.5' }), { name: 'ConfigError', message: /AMQP_PREFETCH/ }, 'AMQP_PREFETCH=2.5')
})

import t from 'tap'
import { createHttpApp } from '../../lib/http/http-app.js'
import { isDatabaseUnavailable } from '../../lib/storage/unavailable.js'
import { silent } from '../helpers/apps.js'

// While PostgreSQL restarts or recovers from a crash, a request answers 503
// with Retry-After (retry with the same Idempotency-Key), not a 500.

const pgError = (code: string, message: string): Error => Object.assign(new Error(message), { code })

t.test('the database errors of a restart, a crash, a terminated or refused connection are "unavailable"', async (t) => {
  for (const err of [
    pgError('57P01', 'terminating connection due to administrator command'),
    pgError('57P02', 'terminating connection because of crash of another server process'),
    pgError('57P03', 'the database system is starting up'),
    pgError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'),
    new Error('Connection terminated unexpectedly'),
    new Error('timeout exceeded when trying to connect'),
    new Error('wrapped', { cause: pgError('08006', 'connection failure') })
  ]) t.ok(isDatabaseUnavailable(err), err.message)
  for (const err of [new Error('boom'), pgError('23505', 'duplicate key'), pgError('40001', 'could not serialize'), undefined, 'text']) {
    t.notOk(isDatabaseUnavailable(err), String(err))
  }
})

t.test('a route that meets an unreachable database answers 503 BASE_DE_DATOS_NO_DISPONIBLE with Retry-After; anything else stays a 500', async (t) => {
  const app = createHttpApp(silent)
  app.get('/caido', async () => { throw pgError('57P03', 'the database system is starting up') })
  app.get('/roto', async () => { throw new Error('boom') })
  t.teardown(async () => { await app.close() })
  const down = await app.inject('/caido')
  t.equal(down.statusCode, 503)
  t.equal(down.headers['retry-after'], '1')
  t.same(down.json(), { error: 'Base de datos no disponible: reintente con la misma Idempotency-Key', code: 'BASE_DE_DATOS_NO_DISPONIBLE' })
  const broken = await app.inject('/roto')
  t.equal(broken.statusCode, 500)
  t.equal(broken.json().code, 'ERROR_INTERNO')
})

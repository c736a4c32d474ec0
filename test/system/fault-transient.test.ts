import { execFile } from 'node:child_process'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import Database from 'better-sqlite3'
import t from 'tap'
import { startFaultSystem, type FaultSystem } from '../helpers/faults.js'
import { call } from '../helpers/http.js'
import { waitFor } from '../helpers/poll.js'

// A transient failure for real: another process holds usuarios' SQLite write
// lock, so applying a `pago.procesado` fails with SQLITE_BUSY. The message is
// retried after a delay; when the attempts run out it is dead-lettered with
// the reason, and `npm run dlq -- replay` brings it back once the cause is gone.
const run = promisify(execFile)
const ROOT = resolve(import.meta.dirname, '..', '..')
let sys: FaultSystem
t.before(async () => { sys = await startFaultSystem('transient', { AMQP_MAX_INTENTOS: '2', AMQP_RETRY_DELAY_MS: '100' }) })
t.teardown(async () => { await sys?.stop() })

/** A payment whose result reaches usuarios while its database is locked by someone else. */
async function payWhileLocked (saldo: number): Promise<{ usuarioId: number, pagoId: string, lock: Database.Database }> {
  const usuario = (await call('POST', `${sys.urls.gateway}/usuarios`, { nombre: 'Bloqueo', saldo })).body
  await sys.terminate('pagos')
  const pago = (await call('POST', `${sys.urls.gateway}/usuarios/${String(usuario.id)}/pagar`, { monto: 10 })).body.pago
  await waitFor('the request published', async () => (await call('GET', `${sys.urls.usuarios}/health/ready`)).body.outboxPendientes === 0)
  const lock = new Database(join(sys.dir, 'data', 'usuarios.sqlite'))
  lock.exec('BEGIN IMMEDIATE')
  await sys.start('pagos')
  return { usuarioId: usuario.id, pagoId: pago.id, lock }
}

const estado = async (usuarioId: number, pagoId: string): Promise<string> =>
  (await call('GET', `${sys.urls.usuarios}/usuarios/${usuarioId}/pagos/${pagoId}`)).body.estado

t.test('a result that fails for a transient reason is retried and applied once the cause is gone', async (t) => {
  const { usuarioId, pagoId, lock } = await payWhileLocked(100)
  const usuarios = sys.current('usuarios')
  const retry = await waitFor('a retry scheduled', () => usuarios.lines.find((l) => l.msg === 'handler failed, retry scheduled' && l.messageId === pagoId), { timeoutMs: 60_000 })
  t.equal(retry.attempt, 1, 'the first attempt failed')
  lock.exec('ROLLBACK')
  lock.close()
  await waitFor('the payment completed', async () => await estado(usuarioId, pagoId) === 'completado', { timeoutMs: 60_000 })
  t.match((await call('GET', `${sys.urls.usuarios}/usuarios/${usuarioId}`)).body, { saldo: 90 })
  t.equal((await call('GET', `${sys.urls.usuarios}/health/ready`)).body.deadLetter, 0, 'nothing dead-lettered')
})

t.test('when the attempts run out it is dead-lettered with the reason, and a replay applies it', async (t) => {
  const { usuarioId, pagoId, lock } = await payWhileLocked(100)
  const usuarios = sys.current('usuarios')
  const dead = await waitFor('dead-lettered after 2 attempts', () => usuarios.lines.find((l) => l.msg === 'message dead-lettered' && l.messageId === pagoId), { timeoutMs: 60_000 })
  t.match(dead.motivo, /fallo transitorio tras 2 intentos/)
  lock.exec('ROLLBACK')
  lock.close()
  await waitFor('usuarios counts the dead letter', async () => (await call('GET', `${sys.urls.usuarios}/health/ready`)).body.deadLetter === 1)
  t.equal(await estado(usuarioId, pagoId), 'pendiente', 'not applied while dead')

  const { stdout } = await run(process.execPath, [join(ROOT, 'dist', 'lib', 'cli', 'dlq.js'), 'replay', 'usuarios'], {
    env: { ...process.env, AMQP_PREFIX: sys.prefix }
  })
  t.match(stdout, /1 message\(s\) replayed/)
  await waitFor('the replayed result applied', async () => await estado(usuarioId, pagoId) === 'completado', { timeoutMs: 60_000 })
  t.match((await call('GET', `${sys.urls.usuarios}/usuarios/${usuarioId}`)).body, { saldo: 90 })
  await waitFor('the dead-letter queue empty again', async () => (await call('GET', `${sys.urls.usuarios}/health/ready`)).body.deadLetter === 0)
})

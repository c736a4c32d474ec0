import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { resolve } from 'node:path'
import { promisify } from 'node:util'
import type { Connection, Publisher, SyncMessage } from 'rabbitmq-client'
import t from 'tap'
import { topology, type ConsumerName } from '../../contracts/topology.js'
import { connectBroker, peekAll, queueDepth } from '../helpers/amqp-peek.js'
import { call } from '../helpers/http.js'
import { waitFor } from '../helpers/poll.js'
import { AMQP_URL, startSystem, type System } from '../../lib/launch/system.js'

// Poison published straight to the running system's work queues: each message
// ends in its queue's dead-letter queue with the reason, or is ignored as a
// duplicate; the consumers keep consuming and no balance moves.
const ROOT = resolve(import.meta.dirname, '..', '..')
const run = promisify(execFile)

let sys: System
let rabbit: Connection
let pub: Publisher
t.before(async () => {
  sys = await startSystem('poison')
  rabbit = connectBroker()
  pub = rabbit.createPublisher({ confirm: true, maxAttempts: 2 })
})
t.teardown(async () => {
  await pub?.close()
  await rabbit?.close()
  await sys?.stop()
})

const gw = (path: string): string => `${sys.gateway.url}${path}`
const CASO = 'x-caso'
const motivo = (m: SyncMessage): string => String(m.headers?.['x-motivo'] ?? '')
const caso = (m: SyncMessage): string => String(m.headers?.[CASO] ?? '')

interface Poison {
  caso: string
  consumer: ConsumerName
  body: Buffer
  contentType?: string
  messageId?: string
  /** What the reason must say; undefined: the message must be ignored (acked, never dead-lettered). */
  motivo?: RegExp
}

async function poison (p: Poison): Promise<void> {
  await pub.send({
    exchange: '',
    routingKey: topology(sys.prefix).queues[p.consumer].queue,
    durable: true,
    contentType: p.contentType,
    messageId: p.messageId,
    correlationId: `poison-${p.caso}`,
    headers: { [CASO]: p.caso }
  }, p.body)
}

const cliEnv = (): NodeJS.ProcessEnv => ({ ...process.env, AMQP_URL, AMQP_PREFIX: sys.prefix })

/** `npm run dlq -- <args>`, as the README tells an operator to run it. */
async function dlq (...args: string[]): Promise<{ stdout: string, stderr: string }> {
  return await run('npm', ['run', '--silent', 'dlq', '--', ...args], { cwd: ROOT, env: cliEnv(), timeout: 60_000 })
}

/** The same script run by node itself, so that a bound kills the script and not only npm. */
async function dlqBounded (timeoutMs: number, ...args: string[]): Promise<{ stdout: string, killed: boolean }> {
  try {
    const { stdout } = await run(process.execPath, [resolve(ROOT, 'dist/lib/cli/dlq.js'), ...args], { cwd: ROOT, env: cliEnv(), timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 })
    return { stdout, killed: false }
  } catch (err) {
    const e = err as { stdout?: string, killed?: boolean }
    if (e.killed !== true) throw err
    return { stdout: e.stdout ?? '', killed: true }
  }
}

const saldos = async (): Promise<unknown> => (await call('GET', gw('/usuarios?limit=100'))).body.usuarios
  .map((u: any) => ({ id: u.id, saldo: u.saldo }))
const dlqDepth = async (c: ConsumerName): Promise<number> => await queueDepth(rabbit, topology(sys.prefix).queues[c].deadLetterQueue)
const logged = (service: 'usuarios' | 'pagos', msg: string, pagoId: string): number =>
  sys[service].lines.filter((l) => l.msg === msg && l.pagoId === pagoId).length

// The real payment the poison is about, and what everything looked like before.
let usuarioId: number
let pago: { id: string, monto: number, creadoEn: string }
let before: unknown
const dead: Record<ConsumerName, SyncMessage[]> = { usuarios: [], pagos: [] }

t.test('a real payment completes before the poison arrives', async (t) => {
  const u = await call('POST', gw('/usuarios'), { nombre: 'Víctima', saldo: 1000 })
  t.equal(u.status, 201)
  usuarioId = u.body.id
  const r = await call('POST', gw(`/usuarios/${usuarioId}/pagar`), { monto: 100, concepto: 'real' })
  t.equal(r.status, 202)
  pago = r.body.pago
  await waitFor('payment completado', async () =>
    (await call('GET', gw(`/usuarios/${usuarioId}/pagos/${pago.id}`))).body.estado === 'completado', { timeoutMs: 30_000, intervalMs: 100 })
  before = await saldos()
  t.match(before, [{ id: 1, saldo: 500 }, { id: 2, saldo: 700 }, { id: usuarioId, saldo: 900 }])
})

t.test('poison ends in the dead-letter queue with its reason; a duplicate is ignored', async (t) => {
  const procesado = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
    tipo: 'pago.procesado',
    version: 1,
    pagoId: pago.id,
    usuarioId,
    montoCentimos: 10_000,
    estado: 'completado',
    motivo: 'Aprobado por el proveedor',
    procesadoEn: new Date().toISOString(),
    ...over
  })
  const solicitado = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
    tipo: 'pago.solicitado',
    version: 1,
    pagoId: pago.id,
    usuarioId,
    montoCentimos: 10_000,
    concepto: 'real',
    solicitadoEn: pago.creadoEn,
    ...over
  })
  const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value))
  const { estado: _e, ...sinEstado } = procesado()
  const { montoCentimos: _m, ...sinMonto } = solicitado()
  const binary = Buffer.from([0xff, 0xfe, 0xfd, 0x00, 0xc3, 0x28, 0xa0, 0xa1, 0x80])
  const unknownId = randomUUID()
  const JSON_CT = 'application/json'

  const cases: Poison[] = [
    // to usuarios (pago.procesado)
    { caso: 'u-json-truncado', consumer: 'usuarios', body: Buffer.from('{"tipo":"pago.procesado","version":1,'), contentType: JSON_CT, motivo: /JSON/ },
    { caso: 'u-tipo-equivocado', consumer: 'usuarios', body: json(procesado({ tipo: 'pago.solicitado' })), contentType: JSON_CT, messageId: pago.id, motivo: /contract.*tipo/ },
    { caso: 'u-sin-estado', consumer: 'usuarios', body: json(sinEstado), contentType: JSON_CT, messageId: pago.id, motivo: /contract/ },
    { caso: 'u-version-2', consumer: 'usuarios', body: json(procesado({ version: 2 })), contentType: JSON_CT, messageId: pago.id, motivo: /contract.*version/ },
    { caso: 'u-estado-raro', consumer: 'usuarios', body: json(procesado({ estado: 'reembolsado' })), contentType: JSON_CT, messageId: pago.id, motivo: /contract.*estado/ },
    { caso: 'u-desconocido', consumer: 'usuarios', body: json(procesado({ pagoId: unknownId })), contentType: JSON_CT, messageId: unknownId, motivo: /desconocido/ },
    { caso: 'u-contradice', consumer: 'usuarios', body: json(procesado({ estado: 'fallido', motivo: 'Rechazado por el proveedor' })), contentType: JSON_CT, messageId: pago.id, motivo: /ya está completado/ },
    { caso: 'u-otro-monto', consumer: 'usuarios', body: json(procesado({ montoCentimos: 10_001 })), contentType: JSON_CT, messageId: pago.id, motivo: /no coinciden/ },
    { caso: 'u-binario', consumer: 'usuarios', body: binary, contentType: 'application/octet-stream', motivo: /JSON/ },
    // A JSON string whose text is a message is a string, not a message.
    { caso: 'u-doble-codificado', consumer: 'usuarios', body: json(JSON.stringify(procesado())), contentType: JSON_CT, messageId: pago.id, motivo: /contract/ },
    { caso: 'u-duplicado', consumer: 'usuarios', body: json(procesado()), contentType: JSON_CT, messageId: pago.id },
    // to pagos (pago.solicitado)
    { caso: 'p-json-truncado', consumer: 'pagos', body: Buffer.from('{"tipo":"pago.solicitado",'), contentType: JSON_CT, motivo: /JSON/ },
    { caso: 'p-vacio', consumer: 'pagos', body: Buffer.alloc(0), contentType: JSON_CT, motivo: /JSON/ },
    { caso: 'p-sin-monto', consumer: 'pagos', body: json(sinMonto), contentType: JSON_CT, messageId: pago.id, motivo: /contract/ },
    { caso: 'p-centimos-decimales', consumer: 'pagos', body: json(solicitado({ pagoId: randomUUID(), montoCentimos: 10.5 })), contentType: JSON_CT, motivo: /contract.*montoCentimos/ },
    { caso: 'p-binario', consumer: 'pagos', body: binary, motivo: /JSON/ },
    { caso: 'p-doble-codificado', consumer: 'pagos', body: json(JSON.stringify(solicitado())), contentType: JSON_CT, messageId: pago.id, motivo: /contract/ },
    { caso: 'p-duplicado', consumer: 'pagos', body: json(solicitado()), contentType: JSON_CT, messageId: pago.id }
  ]
  for (const p of cases) await poison(p)

  const expected = (c: ConsumerName): Poison[] => cases.filter((p) => p.consumer === c && p.motivo !== undefined)
  const t0 = topology(sys.prefix)
  // Every poison message is accounted for once it is either dead-lettered or logged as an ignored duplicate.
  const ignored = (c: ConsumerName): number => c === 'usuarios'
    ? logged('usuarios', 'pago.procesado duplicado ignorado', pago.id)
    : logged('pagos', 'pago.solicitado duplicado respondido con el resultado registrado', pago.id)
  await waitFor('every poison message dead-lettered or ignored', async () => {
    for (const c of ['usuarios', 'pagos'] as const) {
      if (await queueDepth(rabbit, t0.queues[c].queue) !== 0) return false
      if (await dlqDepth(c) + ignored(c) < cases.filter((p) => p.consumer === c).length) return false
    }
    return true
  }, { timeoutMs: 30_000, intervalMs: 100 }).catch((err) => { t.fail(String(err)) })

  for (const c of ['usuarios', 'pagos'] as const) {
    dead[c] = await peekAll(rabbit, t0.queues[c].deadLetterQueue)
    t.same(dead[c].map(caso).sort(), expected(c).map((p) => p.caso).sort(), `${c}: exactly the poison is in ${t0.queues[c].deadLetterQueue}`)
  }
  for (const p of cases) {
    const found = [...dead.usuarios, ...dead.pagos].filter((m) => caso(m) === p.caso)
    if (p.motivo === undefined) {
      t.equal(found.length, 0, `${p.caso}: ignored, not dead-lettered`)
      continue
    }
    const m = dead[p.consumer].find((m) => caso(m) === p.caso)
    if (m === undefined) { t.fail(`${p.caso}: not in the ${p.consumer} dead-letter queue`); continue }
    t.match(motivo(m), p.motivo, `${p.caso}: x-motivo "${motivo(m)}"`)
    t.equal(m.headers?.['x-cola-original'], t0.queues[p.consumer].queue, `${p.caso}: names its queue`)
    t.equal(m.correlationId, `poison-${p.caso}`, `${p.caso}: keeps its correlation id`)
    t.ok(m.durable, `${p.caso}: persistent`)
    if (Buffer.isBuffer(m.body)) t.same(m.body, p.body, `${p.caso}: the body is kept byte for byte`)
    else t.same(m.body, JSON.parse(p.body.toString()), `${p.caso}: the body is kept`)
  }
  // pagos answers the duplicated request with the result it recorded; usuarios ignores that answer too.
  await waitFor('usuarios ignored the duplicate and pagos\' answer', () => logged('usuarios', 'pago.procesado duplicado ignorado', pago.id) >= 2, { timeoutMs: 30_000, intervalMs: 100 }).catch(() => {})
  t.equal(logged('usuarios', 'pago.procesado duplicado ignorado', pago.id), 2, 'usuarios ignored exactly two pago.procesado (the duplicate, and pagos\' answer to the duplicated request)')
  t.equal(logged('pagos', 'pago.solicitado duplicado respondido con el resultado registrado', pago.id), 1, 'pagos answered the one duplicated pago.solicitado with its recorded result')
})

t.test('no balance changed and the payment stays completado, in usuarios and in pagos', async (t) => {
  t.same(await saldos(), before)
  t.match((await call('GET', gw(`/usuarios/${usuarioId}/pagos/${pago.id}`))).body, { estado: 'completado', monto: 100 })
  t.match((await call('GET', gw(`/pagos/${pago.id}`))).body, { estado: 'completado', monto: 100, usuarioId })
  t.equal((await call('GET', gw(`/usuarios/${usuarioId}/pagos`))).body.total, 1, 'no payment was created by the poison')
})

t.test('/pagos/status and usuarios readiness count the dead letters', async (t) => {
  const n = { usuarios: dead.usuarios.length, pagos: dead.pagos.length }
  t.ok(n.usuarios > 0 && n.pagos > 0)
  // peekAll returned them to the queue: wait until they are all back and counted.
  const status = await waitFor('pagos counts its dead letters', async () => {
    const s = (await call('GET', gw('/pagos/status'))).body
    return s.deadLetter === n.pagos && await dlqDepth('pagos') === n.pagos && s
  }, { timeoutMs: 30_000, intervalMs: 100 }).catch((err) => { t.fail(String(err)); return undefined })
  t.equal(status?.deadLetter, n.pagos, `/pagos/status deadLetter = ${n.pagos}`)
  const ready = await waitFor('usuarios counts its dead letters', async () => {
    const r = (await call('GET', `${sys.usuarios.url}/health/ready`)).body
    return r.deadLetter === n.usuarios && await dlqDepth('usuarios') === n.usuarios && r
  }, { timeoutMs: 30_000, intervalMs: 100 }).catch((err) => { t.fail(String(err)); return undefined })
  t.equal(ready?.deadLetter, n.usuarios, `usuarios /health/ready deadLetter = ${n.usuarios}`)
  t.equal(ready?.status, 'ok', 'usuarios still ready')
})

t.test('the consumers keep consuming: a new payment after the poison completes', async (t) => {
  const r = await call('POST', gw('/usuarios/2/pagar'), { monto: 7.5 })
  t.equal(r.status, 202)
  const final = await waitFor('new payment final', async () => {
    const p = (await call('GET', gw(`/usuarios/2/pagos/${r.body.pago.id}`))).body
    return p.estado !== 'pendiente' && p
  }, { timeoutMs: 30_000, intervalMs: 100 })
  t.equal(final.estado, 'completado')
  t.equal((await call('GET', gw('/usuarios/2'))).body.saldo, 692.5)
  before = await saldos()
})

t.test('npm run dlq -- list prints every reason and leaves the messages in place', async (t) => {
  for (const c of ['usuarios', 'pagos'] as const) {
    const { stdout } = await dlq('list', c)
    const q = topology(sys.prefix).queues[c]
    t.match(stdout, `# ${q.deadLetterQueue}`)
    for (const m of dead[c]) t.ok(stdout.includes(motivo(m)), `${c}: lists "${motivo(m)}"`)
    t.match(stdout, `${dead[c].length} message(s) listed`)
    await waitFor(`${c} dead letters back in place`, async () => await dlqDepth(c) === dead[c].length, { timeoutMs: 30_000, intervalMs: 100 })
      .catch((err) => { t.fail(String(err)) })
    t.equal(await dlqDepth(c), dead[c].length, `${c}: still ${dead[c].length} dead letters`)
  }
  const both = await dlq('list')
  t.match(both.stdout, `${dead.usuarios.length + dead.pagos.length} message(s) listed`, 'without a consumer it lists both queues')
})

t.test('npm run dlq -- replay sends the dead letters back; the contradicting one is dead-lettered again, not applied', async (t) => {
  const n = dead.usuarios.length
  // Bounded: a replay that keeps taking back the messages it just re-dead-lettered never ends.
  const { stdout, killed } = await dlqBounded(30_000, 'replay', 'usuarios')
  const replays = stdout.split('\n').filter((l) => /^\S+ {2}/.test(l)).length
  t.notOk(killed, `replay ends by itself (killed after 30 s, having replayed ${replays} messages)`)
  t.match(stdout, `${n} message(s) replayed`, `replays the ${n} messages that were there, once each (it replayed ${replays})`)
  const q = topology(sys.prefix).queues.usuarios
  let again: SyncMessage[] = []
  await waitFor('replayed messages dead-lettered again', async () => {
    if (await dlqDepth('usuarios') < n || await queueDepth(rabbit, q.queue) !== 0) return false
    again = await peekAll(rabbit, q.deadLetterQueue)
    return again.length >= n && again.every((m) => m.headers?.['x-replayed-at'] !== undefined)
  }, { timeoutMs: 30_000, intervalMs: 200 }).catch((err) => { t.fail(String(err)) })
  t.same(again.map(caso).sort(), dead.usuarios.map(caso).sort(), 'the same messages, each once')
  const contradice = again.find((m) => caso(m) === 'u-contradice')
  t.ok(contradice?.headers?.['x-replayed-at'], 'the contradicting message went through the work queue')
  t.match(contradice === undefined ? '' : motivo(contradice), /ya está completado, llegó fallido/)
  t.same(await saldos(), before, 'no refund: every balance unchanged')
  t.match((await call('GET', gw(`/usuarios/${usuarioId}/pagos/${pago.id}`))).body, { estado: 'completado' })
  t.equal(await dlqDepth('pagos'), dead.pagos.length, 'pagos dead letters untouched')
})

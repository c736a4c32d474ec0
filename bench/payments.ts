import autocannon from 'autocannon'
import { getJson, mapLimit, requestJson } from './http-client.js'
import { pacedLoad } from './paced-load.js'
import { cpuShare, cpuSnapshot, type CpuShare } from './procfs.js'
import { percentile, sleep } from './stats.js'

export interface PaymentTargets {
  /** Where the load goes (the gateway). */
  gateway: string
  /** Direct URLs for bookkeeping reads, so that they stay off the measured path. */
  usuarios: string
  pagos: string
  /** Authorization header for the gateway, when it wants a key. */
  headers: Record<string, string>
  /** For the CPU share: every process worth naming. */
  pids: Record<string, number | undefined>
}

export interface LoadShape {
  name: string
  users: number[]
  connections: number
  /** Offered payments per second, evenly paced (open loop); undefined: as fast as answered. */
  rate?: number
  seconds?: number
  /** A fixed number of requests instead of a duration. */
  amount?: number
}

export interface PaymentPhase {
  name: string
  offeredRate: number | null
  connections: number
  loadSeconds: number
  sent: number
  accepted: number
  /** Payments the phase created (read back from usuarios): a closed-loop run that stops on time leaves up to one unanswered request per connection, answered and created after it stopped counting. */
  created: number
  /** Status code → count, for everything that was not a 202. */
  otherStatuses: Record<string, number>
  transportErrors: number
  acceptedPerSec: number
  /** HTTP latency of the POST through the gateway: from the scheduled send time at a fixed rate, autocannon's send → response at saturation. */
  acceptP50Ms: number
  acceptP99Ms: number
  /** Payments of this phase found `completado` / `fallido` / still `pendiente` after settling. */
  completed: number
  failed: number
  pending: number
  /** Payments that reached `completado` while the load ran, per second of load. */
  completedPerSecDuringLoad: number
  /** All of the phase's payments ÷ (last `completado` − first accept). */
  drainPerSec: number
  /** `actualizadoEn − creadoEn` of each payment: the accept transaction to the `completado` transaction. */
  endToEndP50Ms: number
  endToEndP99Ms: number
  endToEndMaxMs: number
  outboxAtLoadEnd: { usuarios: number, pagos: number }
  outboxAfterSettle: { usuarios: number, pagos: number }
  /** From the end of the load until every payment left `pendiente`. */
  settleMs: number
  /** CPU share while the load ran. */
  cpu: CpuShare
  /** CPU ms each process used per accepted payment, from load start until every payment settled. */
  cpuMsPerPayment: Record<string, number>
  /** Per second of the load, by creation time: payments created and their accept → completado latency. */
  timeline: Array<{ second: number, created: number, endToEndP50Ms: number, endToEndP99Ms: number, endToEndMaxMs: number }>
}

function timelineOf (rows: PagoRow[], started: number): PaymentPhase['timeline'] {
  const buckets = new Map<number, number[]>()
  for (const r of rows) {
    if (r.estado === 'pendiente') continue
    const second = Math.floor((Date.parse(r.creadoEn) - started) / 1000)
    const list = buckets.get(second) ?? []
    list.push(Date.parse(r.actualizadoEn) - Date.parse(r.creadoEn))
    buckets.set(second, list)
  }
  return [...buckets].sort((a, b) => a[0] - b[0]).map(([second, e2e]) => ({
    second,
    created: e2e.length,
    endToEndP50Ms: percentile(e2e, 0.5),
    endToEndP99Ms: percentile(e2e, 0.99),
    endToEndMaxMs: e2e.reduce((m, x) => Math.max(m, x), 0)
  }))
}

export async function createUsers (t: PaymentTargets, n: number, label: string): Promise<number[]> {
  return await mapLimit(Array.from({ length: n }, (_, i) => i), 16, async (i) => {
    const r = await requestJson(`${t.usuarios}/usuarios`, 'POST', { nombre: `Bench ${label} ${i}`, saldo: 1_000_000 })
    if (r.status !== 201) throw new Error(`could not create a user: ${r.status} ${JSON.stringify(r.json)}`)
    return r.json.id as number
  })
}

async function outbox (t: PaymentTargets): Promise<{ usuarios: number, pagos: number }> {
  const [u, p] = await Promise.all([getJson(`${t.usuarios}/health/ready`), getJson(`${t.pagos}/health/ready`)])
  return { usuarios: Number(u.outboxPendientes), pagos: Number(p.outboxPendientes) }
}

export interface LoadResult {
  started: number
  ended: number
  sent: number
  accepted: number
  otherStatuses: Record<string, number>
  transportErrors: number
  acceptP50Ms: number
  acceptP99Ms: number
}

/**
 * POST /usuarios/:id/pagar {"monto":1} through the gateway, round robin over
 * the users: at an even pace when `rate` is set (bench/paced-load.ts), else a
 * closed loop of `connections` (autocannon: each sends its next payment when
 * the last one is answered).
 */
export async function runPaymentLoad (t: PaymentTargets, shape: LoadShape): Promise<LoadResult> {
  const path = (i: number): string => `/usuarios/${shape.users[i % shape.users.length]!}/pagar`
  const headers = { ...t.headers, 'content-type': 'application/json' }
  const body = '{"monto":1}'
  if (shape.rate !== undefined) {
    const r = await pacedLoad({ base: t.gateway, method: 'POST', path, headers, body, rate: shape.rate, seconds: shape.seconds ?? 10, connections: shape.connections })
    const { 202: accepted = 0, ...otherStatuses } = r.statuses
    return {
      started: r.started,
      ended: r.ended,
      sent: r.sent,
      accepted,
      otherStatuses,
      transportErrors: r.errors,
      acceptP50Ms: percentile(r.latenciesMs, 0.5),
      acceptP99Ms: percentile(r.latenciesMs, 0.99)
    }
  }
  let next = 0
  const started = Date.now()
  const result = await autocannon({
    url: t.gateway,
    connections: shape.connections,
    ...(shape.amount !== undefined ? { amount: shape.amount } : { duration: shape.seconds ?? 10 }),
    timeout: 30,
    excludeErrorStats: true,
    requests: [{ method: 'POST', headers, body, setupRequest: (req) => ({ ...req, path: path(next++) }) }]
  })
  const ended = Date.now()
  const otherStatuses: Record<string, number> = {}
  for (const [code, { count }] of Object.entries(result.statusCodeStats)) if (code !== '202') otherStatuses[code] = Number(count)
  return {
    started,
    ended,
    sent: result.requests.total,
    accepted: Number(result.statusCodeStats['202']?.count ?? 0),
    otherStatuses,
    transportErrors: result.errors,
    acceptP50Ms: result.latency.p50,
    acceptP99Ms: result.latency.p99
  }
}

/** Payments pagos has recorded since the database was created (all of them, once settled). */
export async function processedTotal (t: PaymentTargets): Promise<number> {
  const status = await getJson(`${t.pagos}/pagos/status`)
  return Number(status.procesados) + Number(status.fallidos)
}

/**
 * Waits (bounded) until every payment of `users` left `pendiente`: first the
 * cheap signals (pagos has recorded them all, both outboxes empty), then each
 * user's pending count, asking again only about users that still had some.
 */
export async function settle (t: PaymentTargets, users: number[], expectedProcessed: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  const overdue = (what: string): Error => new Error(`payments not settled after ${timeoutMs} ms (${what})`)
  for (;;) {
    const status = await getJson(`${t.pagos}/pagos/status`)
    const box = await outbox(t)
    if (Number(status.procesados) + Number(status.fallidos) >= expectedProcessed && box.usuarios === 0 && box.pagos === 0) break
    if (Date.now() > deadline) throw overdue(`pagos recorded ${Number(status.procesados) + Number(status.fallidos)} of ${expectedProcessed}, outbox ${JSON.stringify(box)}`)
    await sleep(250)
  }
  let waiting = users
  for (;;) {
    const counts = await mapLimit(waiting, 16, async (id) => Number((await getJson(`${t.usuarios}/usuarios/${id}/pagos?estado=pendiente&limit=1`)).total))
    waiting = waiting.filter((_, i) => counts[i]! > 0)
    if (waiting.length === 0) return
    if (Date.now() > deadline) throw overdue(`${waiting.length} users still have pending payments`)
    await sleep(100)
  }
}

interface PagoRow { estado: string, creadoEn: string, actualizadoEn: string }

async function paymentsOf (t: PaymentTargets, users: number[]): Promise<PagoRow[]> {
  const pages = await mapLimit(users, 8, async (id) => {
    const rows: PagoRow[] = []
    for (let offset = 0; ; offset += 100) {
      const page = await getJson(`${t.usuarios}/usuarios/${id}/pagos?limit=100&offset=${offset}`)
      rows.push(...(page.pagos as PagoRow[]))
      if (offset + 100 >= Number(page.total)) return rows
    }
  })
  return pages.flat()
}

/** One measured phase: load, then settle, then read every payment's timestamps. */
export async function paymentPhase (t: PaymentTargets, shape: LoadShape, processedBefore: number, settleTimeoutMs: number): Promise<PaymentPhase> {
  const cpu0 = cpuSnapshot(t.pids)
  const load = await runPaymentLoad(t, shape)
  const cpu1 = cpuSnapshot(t.pids)
  const outboxAtLoadEnd = await outbox(t)
  await settle(t, shape.users, processedBefore + load.accepted, settleTimeoutMs)
  const settled = Date.now()
  const whole = cpuShare(cpu0, cpuSnapshot(t.pids))
  const rows = await paymentsOf(t, shape.users)
  const done = rows.filter((r) => r.estado !== 'pendiente')
  const e2e = done.map((r) => Date.parse(r.actualizadoEn) - Date.parse(r.creadoEn))
  const firstAccept = rows.reduce((m, r) => Math.min(m, Date.parse(r.creadoEn)), Infinity)
  const lastDone = done.reduce((m, r) => Math.max(m, Date.parse(r.actualizadoEn)), -Infinity)
  const loadSeconds = (load.ended - load.started) / 1000
  const completedDuringLoad = done.filter((r) => r.estado === 'completado' && Date.parse(r.actualizadoEn) <= load.ended).length
  return {
    name: shape.name,
    offeredRate: shape.rate ?? null,
    connections: shape.connections,
    loadSeconds,
    sent: load.sent,
    accepted: load.accepted,
    created: rows.length,
    otherStatuses: load.otherStatuses,
    transportErrors: load.transportErrors,
    acceptedPerSec: load.accepted / loadSeconds,
    acceptP50Ms: load.acceptP50Ms,
    acceptP99Ms: load.acceptP99Ms,
    completed: rows.filter((r) => r.estado === 'completado').length,
    failed: rows.filter((r) => r.estado === 'fallido').length,
    pending: rows.length - done.length,
    completedPerSecDuringLoad: completedDuringLoad / loadSeconds,
    drainPerSec: done.length / Math.max(0.001, (lastDone - firstAccept) / 1000),
    endToEndP50Ms: percentile(e2e, 0.5),
    endToEndP99Ms: percentile(e2e, 0.99),
    endToEndMaxMs: e2e.reduce((m, x) => Math.max(m, x), 0),
    outboxAtLoadEnd,
    outboxAfterSettle: await outbox(t),
    settleMs: settled - load.ended,
    cpu: cpuShare(cpu0, cpu1),
    timeline: timelineOf(rows, load.started),
    cpuMsPerPayment: Object.fromEntries(Object.entries(whole.seconds).map(([k, v]) => [k, 1000 * v / Math.max(1, load.accepted)]))
  }
}

import { checkStatement, statementRow } from '../../usuarios/statement.js'
import { call, type JsonResponse } from './http.js'
import { allMovimientos } from './movimientos.js'
import { waitFor } from './poll.js'

/*
 * A client that pays, tops up, refunds and retries the way a careful user of the API
 * would (every request carries an Idempotency-Key and is retried with the
 * same key until it gets a definite answer), and a model of what that client
 * was told. After the faults stop, `verify` checks the system against it.
 */

export type Rng = () => number

/** mulberry32: small, seedable, good enough to pick amounts and users. */
export function seededRng (seed: number): Rng {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface UserModel {
  inicial: number
  recargas: number
  /** pagoId → cents, every payment the client was told was accepted. */
  pagos: Map<string, number>
  /** reembolsoId → its payment and cents, every refund the client was told was accepted. */
  reembolsos: Map<string, { pagoId: string, cents: number }>
}

export interface Figures {
  sent: number
  accepted: number
  refused: number
  topUps: number
  replays: number
  retries: number
  /** 429 answers from the gateway's rate limit, each waited out (Retry-After) and retried with the same key. */
  rateLimited: number
  /** 503 answers with Retry-After (the database restarting or recovering), each waited out and retried with the same key. */
  unavailable: number
  /** Requests whose outcome the client never learnt (must be 0 for a strict check). */
  unknown: number
  /** A replayed key that answered differently from the first time. */
  replayMismatches: number
  /** Refunds asked for (of a payment of the model, partial or full), accepted (202) and refused (409: not completado yet, or nothing left). */
  refundsSent: number
  refunds: number
  refundsRefused: number
}

export class Workload {
  readonly users = new Map<number, UserModel>()
  readonly figures: Figures = { sent: 0, accepted: 0, refused: 0, topUps: 0, replays: 0, retries: 0, rateLimited: 0, unavailable: 0, unknown: 0, replayMismatches: 0, refundsSent: 0, refunds: 0, refundsRefused: 0 }
  private readonly answered: Array<{ usuarioId: number, key: string, body: Record<string, unknown>, pagoId: string | undefined, status: number }> = []
  private seq = 0

  constructor (private readonly baseUrl: () => string, private readonly rng: Rng, private readonly label: string) {}

  async createUsers (n: number, saldo: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const r = await this.untilKnown('POST', '/usuarios', { nombre: `${this.label} ${i}`, saldo }, undefined)
      if (r?.status !== 201) throw new Error(`could not create user: ${JSON.stringify(r?.body)}`)
      this.users.set(r.body.id, { inicial: Math.round(saldo * 100), recargas: 0, pagos: new Map(), reembolsos: new Map() })
    }
  }

  /**
   * Retries network errors and 5xx (a service or the broker is away) with the
   * same key, and a 429 (or a 503 with Retry-After: the database is away) as
   * README tells clients to: wait its Retry-After (seconds), then send the
   * same request with the same key again.
   */
  private async untilKnown (method: string, path: string, body: unknown, key: string | undefined, boundMs = 120_000): Promise<JsonResponse | undefined> {
    const deadline = Date.now() + boundMs
    let delay = 20
    for (let first = true; Date.now() < deadline; first = false) {
      if (!first) this.figures.retries++
      let wait = delay
      try {
        const r = await call(method, `${this.baseUrl()}${path}`, body, key === undefined ? {} : { 'idempotency-key': key })
        const retryAfter = r.headers.get('retry-after')
        if (r.status === 429 || (r.status === 503 && retryAfter !== null)) {
          if (r.status === 429) this.figures.rateLimited++
          else this.figures.unavailable++
          wait = Math.max(1, Number(retryAfter ?? 1)) * 1000
        } else if (r.status < 500) {
          return r
        }
      } catch { /* connection refused or reset: same as a 5xx */ }
      await new Promise((resolve) => setTimeout(resolve, Math.min(wait, Math.max(0, deadline - Date.now()))))
      delay = Math.min(delay * 2, 500)
    }
    return undefined
  }

  private pickUser (): number {
    const ids = [...this.users.keys()]
    return ids[Math.floor(this.rng() * ids.length)]!
  }

  /** One random operation: mostly payments, some top-ups, some refunds, some retries of an old key. */
  async step (): Promise<void> {
    const roll = this.rng()
    if (roll < 0.1 && this.answered.length > 0) return await this.replay()
    const usuarioId = this.pickUser()
    if (roll >= 0.2 && roll < 0.28 && this.users.get(usuarioId)!.pagos.size > 0) return await this.refund(usuarioId)
    const key = `${this.label}-${++this.seq}`
    const monto = Math.max(1, Math.floor(this.rng() * 5000)) / 100
    const topUp = roll < 0.2
    const path = topUp ? `/usuarios/${usuarioId}/recargar` : `/usuarios/${usuarioId}/pagar`
    const body = topUp ? { monto } : { monto, concepto: 'carga' }
    this.figures.sent++
    const r = await this.untilKnown('POST', path, body, key)
    if (r === undefined) { this.figures.unknown++; return }
    const user = this.users.get(usuarioId)!
    if (topUp && r.status === 200) {
      user.recargas += Math.round(monto * 100)
      this.figures.topUps++
    } else if (!topUp && r.status === 202) {
      user.pagos.set(r.body.pago.id, Math.round(monto * 100))
      this.figures.accepted++
    } else if (!topUp && r.status === 409) {
      this.figures.refused++
    } else {
      throw new Error(`unexpected ${r.status} for ${path}: ${JSON.stringify(r.body)}`)
    }
    if (!topUp) this.answered.push({ usuarioId, key, body, pagoId: r.body?.pago?.id, status: r.status })
  }

  /** Refunds a payment of the model: a part of it, or (no monto) what is left; a 409 is a fine answer (not completado yet, nothing left). */
  private async refund (usuarioId: number): Promise<void> {
    const user = this.users.get(usuarioId)!
    const ids = [...user.pagos.keys()]
    const pagoId = ids[Math.floor(this.rng() * ids.length)]!
    const cents = user.pagos.get(pagoId)!
    const body = this.rng() < 0.3 ? { motivo: 'carga' } : { monto: Math.max(1, Math.floor(this.rng() * cents / 2)) / 100, motivo: 'carga' }
    this.figures.refundsSent++
    const r = await this.untilKnown('POST', `/usuarios/${usuarioId}/pagos/${pagoId}/reembolsos`, body, `${this.label}-${++this.seq}`)
    if (r === undefined) { this.figures.unknown++; return }
    if (r.status === 202) {
      user.reembolsos.set(r.body.reembolso.id, { pagoId, cents: Math.round(r.body.reembolso.monto * 100) })
      this.figures.refunds++
    } else if (r.status === 409) {
      this.figures.refundsRefused++
    } else {
      throw new Error(`unexpected ${r.status} for a refund of ${pagoId}: ${JSON.stringify(r.body)}`)
    }
  }

  private async replay (): Promise<void> {
    const old = this.answered[Math.floor(this.rng() * this.answered.length)]!
    this.figures.replays++
    const r = await this.untilKnown('POST', `/usuarios/${old.usuarioId}/pagar`, old.body, old.key)
    if (r === undefined) { this.figures.unknown++; return }
    if (r.status !== old.status || r.body?.pago?.id !== old.pagoId) this.figures.replayMismatches++
  }

  /** `concurrency` clients stepping until `until()` says stop. */
  async run (concurrency: number, until: () => boolean): Promise<void> {
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (!until()) await this.step()
    }))
  }
}

export interface Verdict {
  completed: number
  failed: number
  /** Accepted payments or refunds missing, or not final after quiet. */
  lost: number
  /** Payments or refunds the system holds that no client was told about, or held twice. */
  duplicated: number
  /** Broken money invariants (per user: the account statement (checkStatement); saldo = inicial + recargas − completados + reembolsos completados; refunds never over their payment), or pagos disagreeing with usuarios. */
  violations: string[]
  quietMs: number
  /** Messages in both services' dead-letter queues after quiet: none of the workload's should need a manual replay. */
  deadLettered: number
}

async function allPagos (base: string, usuarioId: number): Promise<any[]> {
  const out: any[] = []
  for (let offset = 0; ; offset += 100) {
    const r = await call('GET', `${base}/usuarios/${usuarioId}/pagos?limit=100&offset=${offset}`)
    out.push(...r.body.pagos)
    if (out.length >= r.body.total || r.body.pagos.length === 0) return out
  }
}

/** The refunds of each payment of the model that has some, as usuarios lists them. */
async function refundsOf (base: string, usuarioId: number, model: UserModel): Promise<Map<string, any[]>> {
  const out = new Map<string, any[]>()
  for (const pagoId of new Set([...model.reembolsos.values()].map((r) => r.pagoId))) {
    out.set(pagoId, (await call('GET', `${base}/usuarios/${usuarioId}/pagos/${pagoId}/reembolsos`)).body.reembolsos)
  }
  return out
}

/** Waits (bounded) until nothing is pendiente and both outboxes are empty, then checks everything (each user's statement too: checkStatement). */
export async function verify (w: Workload, urls: { usuarios: string, pagos: string }, quietBoundMs = 90_000): Promise<Verdict> {
  const t0 = Date.now()
  await waitFor('quiet: no pendiente, empty outboxes', async () => {
    for (const url of [urls.usuarios, urls.pagos]) {
      const ready = await call('GET', `${url}/health/ready`)
      if (ready.body.outboxPendientes !== 0) return false
    }
    for (const id of w.users.keys()) {
      const r = await call('GET', `${urls.usuarios}/usuarios/${id}/pagos?estado=pendiente&limit=1`)
      if (r.body.total !== 0) return false
      for (const refunds of (await refundsOf(urls.usuarios, id, w.users.get(id)!)).values()) {
        if (refunds.some((r) => r.estado === 'pendiente')) return false
      }
    }
    return true
  }, { timeoutMs: quietBoundMs, intervalMs: 200 })
  const quietMs = Date.now() - t0

  let deadLettered = 0
  for (const url of [urls.usuarios, urls.pagos]) deadLettered += Number((await call('GET', `${url}/health/ready`)).body.deadLetter ?? 0)
  const v: Verdict = { completed: 0, failed: 0, lost: 0, duplicated: 0, violations: [], quietMs, deadLettered }
  for (const [id, model] of w.users) {
    const pagos = await allPagos(urls.usuarios, id)
    const seen = new Set<string>()
    let completedCents = 0
    for (const p of pagos) {
      if (seen.has(p.id) || !model.pagos.has(p.id)) v.duplicated++
      seen.add(p.id)
      const cents = Math.round(p.monto * 100)
      if (model.pagos.has(p.id) && model.pagos.get(p.id) !== cents) v.violations.push(`user ${id}: payment ${p.id} amount ${cents} != ${model.pagos.get(p.id)!}`)
      if (p.estado === 'completado') { v.completed++; completedCents += cents }
      if (p.estado === 'fallido') v.failed++
      if (p.estado === 'pendiente') v.lost++
      const enPagos = await call('GET', `${urls.pagos}/pagos/${p.id}`)
      if (enPagos.status !== 200 || enPagos.body.estado !== p.estado) v.violations.push(`payment ${p.id}: usuarios says ${p.estado}, pagos says ${enPagos.status === 200 ? enPagos.body.estado : enPagos.status}`)
    }
    for (const pagoId of model.pagos.keys()) if (!seen.has(pagoId)) v.lost++
    // Refunds: each the client was told of, final, none unknown to it, never more than their payment.
    let refundedCents = 0
    const seenRefunds = new Set<string>()
    for (const [pagoId, refunds] of await refundsOf(urls.usuarios, id, model)) {
      let held = 0
      let completed = 0
      for (const r of refunds) {
        const known = model.reembolsos.get(r.id)
        if (seenRefunds.has(r.id) || known === undefined) v.duplicated++
        seenRefunds.add(r.id)
        const cents = Math.round(r.monto * 100)
        if (known !== undefined && known.cents !== cents) v.violations.push(`refund ${r.id as string}: amount ${cents} != ${known.cents}`)
        if (r.estado === 'pendiente') v.lost++
        if (r.estado !== 'fallido') held += cents
        if (r.estado === 'completado') completed += cents
      }
      refundedCents += completed
      if (held > model.pagos.get(pagoId)!) v.violations.push(`payment ${pagoId}: refunds ${held} > its amount ${model.pagos.get(pagoId)!}`)
      const shown = pagos.find((p) => p.id === pagoId)
      if (shown !== undefined && Math.round(shown.reembolsado * 100) !== completed) v.violations.push(`payment ${pagoId}: reembolsado ${shown.reembolsado as number} != completed refunds ${completed}`)
    }
    for (const reembolsoId of model.reembolsos.keys()) if (!seenRefunds.has(reembolsoId)) v.lost++
    const usuario = (await call('GET', `${urls.usuarios}/usuarios/${id}`)).body
    const saldo = Math.round(usuario.saldo * 100)
    const expected = model.inicial + model.recargas - completedCents + refundedCents
    if (saldo !== expected) {
      v.violations.push(`user ${id}: saldo ${saldo} != inicial ${model.inicial} + recargas ${model.recargas} - completados ${completedCents} + reembolsos ${refundedCents} = ${expected}`)
    }
    if (saldo < 0) v.violations.push(`user ${id}: negative saldo ${saldo}`)
    // The statement, every page through usuarios' own URL: it adds up to the saldo, row by row.
    const movimientos = await allMovimientos(async (path) => await call('GET', `${urls.usuarios}${path}`), id)
    for (const problem of checkStatement(movimientos.map(statementRow), saldo)) v.violations.push(`user ${id}: statement: ${problem}`)
  }
  return v
}

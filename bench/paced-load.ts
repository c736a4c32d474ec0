import http from 'node:http'
import { sleep } from './stats.js'

export interface PacedOptions {
  base: string
  method: string
  /** The path of the i-th request. */
  path: (i: number) => string
  headers: Record<string, string>
  body: string
  rate: number
  seconds: number
  /** Keep-alive connections at most; a request with none free waits (and its latency shows it). */
  connections: number
}

export interface PacedResult {
  started: number
  ended: number
  sent: number
  statuses: Record<string, number>
  errors: number
  /** Scheduled send time → response, ms: includes any wait for a free connection (no coordinated omission). */
  latenciesMs: number[]
}

/**
 * An open-loop load at an even pace: the i-th request is due at
 * t0 + i / rate and is sent then (a 1 ms tick), whatever happened to the
 * earlier ones. autocannon's `overallRate` sends each connection's quota for
 * the second in a burst at the start of the second, which measures bursts,
 * not a rate.
 */
export async function pacedLoad (o: PacedOptions): Promise<PacedResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.connections })
  const statuses: Record<string, number> = {}
  const latenciesMs: number[] = []
  let errors = 0
  const inflight = new Set<Promise<void>>()
  const body = Buffer.from(o.body)
  const fire = (i: number, due: number): void => {
    const p = new Promise<void>((resolve) => {
      const req = http.request(`${o.base}${o.path(i)}`, {
        method: o.method,
        agent,
        headers: { ...o.headers, 'content-length': body.length }
      }, (res) => {
        res.resume()
        res.on('end', () => {
          latenciesMs.push(performance.now() - due)
          statuses[String(res.statusCode)] = (statuses[String(res.statusCode)] ?? 0) + 1
          resolve()
        })
      })
      req.setTimeout(30_000, () => req.destroy(new Error('timeout')))
      req.on('error', () => { errors++; resolve() })
      req.end(body)
    })
    inflight.add(p)
    void p.then(() => inflight.delete(p))
  }
  const total = Math.round(o.rate * o.seconds)
  const started = Date.now()
  const t0 = performance.now()
  let sent = 0
  while (sent < total) {
    const due = Math.min(total, Math.floor((performance.now() - t0) * o.rate / 1000) + 1)
    for (; sent < due; sent++) fire(sent, t0 + sent * 1000 / o.rate)
    await sleep(1)
  }
  await Promise.all(inflight)
  const ended = Date.now()
  agent.destroy()
  return { started, ended, sent, statuses, errors, latenciesMs }
}

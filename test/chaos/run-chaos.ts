import { startPrivateBroker } from '../helpers/broker.js'
import { startFaultSystem } from '../helpers/faults.js'
import { seededRng, verify, Workload, type Figures, type Verdict } from '../helpers/workload.js'

export interface ChaosOptions {
  durationMs: number
  /** Expected kill -9 per second (of usuarios or pagos, chosen at random). */
  killRate: number
  /** Expected broker connection drops per second. */
  dropRate: number
  seed: number
  users: number
  concurrency: number
  log: (line: string) => void
  /** Faults done for sure, spread evenly over the run, on top of the random ones. */
  script?: Array<'kill usuarios' | 'kill pagos' | 'drop'>
  /** Extra env for the services (e.g. a tight gateway rate limit). */
  env?: NodeJS.ProcessEnv
}

export interface ChaosReport extends Figures, Verdict {
  seed: number
  kills: number
  drops: number
  durationMs: number
}

const TICK_MS = 200

/**
 * A bounded random workload (payments, top-ups, idempotent retries) across
 * many users while usuarios and pagos are killed with kill -9 and the broker
 * drops every connection at random moments; then quiet, then every invariant
 * against the model of what the client was told. The seed fixes every random
 * choice (users, amounts, which fault at which tick); timing still varies.
 */
export async function runChaos (o: ChaosOptions): Promise<ChaosReport> {
  const rng = seededRng(o.seed)
  const faults = seededRng(o.seed ^ 0x5bd1e995)
  const broker = await startPrivateBroker()
  const sys = await startFaultSystem('chaos', {
    AMQP_URL: broker.url,
    PROCESADOR_LATENCIA_MS: '5',
    PROCESADOR_TASA_FALLO: '0.1',
    PROCESADOR_SEMILLA: String(o.seed),
    ...o.env
  })
  let kills = 0
  let drops = 0
  try {
    const w = new Workload(() => sys.urls.gateway, rng, `chaos${o.seed}`)
    await w.createUsers(o.users, 1000)
    const start = Date.now()
    const end = start + o.durationMs
    let stopping = false
    const load = w.run(o.concurrency, () => stopping)
    const script = [...(o.script ?? [])]
    const kill = async (name: 'usuarios' | 'pagos'): Promise<void> => {
      o.log(`kill -9 ${name}`)
      await sys.kill9(name)
      await sys.start(name)
      kills++
    }
    const drop = async (): Promise<void> => {
      o.log('broker: close all connections')
      await broker.closeAllConnections()
      drops++
    }
    const scripted = async (next: 'kill usuarios' | 'kill pagos' | 'drop'): Promise<void> => {
      if (next === 'drop') await drop()
      else await kill(next === 'kill usuarios' ? 'usuarios' : 'pagos')
    }
    while (Date.now() < end) {
      await new Promise((resolve) => setTimeout(resolve, TICK_MS))
      const p = TICK_MS / 1000
      if (faults() < o.killRate * p) await kill(faults() < 0.5 ? 'usuarios' : 'pagos')
      if (faults() < o.dropRate * p) await drop()
      const due = (o.script?.length ?? 0) - script.length + 1
      if (script.length > 0 && Date.now() - start >= due * o.durationMs / ((o.script?.length ?? 0) + 1)) await scripted(script.shift()!)
    }
    // Scripted faults the random ones left no time for still happen, under load.
    for (const next of script) await scripted(next)
    stopping = true
    await load
    o.log('faults stopped, waiting for quiet')
    const v = await verify(w, sys.urls)
    return { seed: o.seed, kills, drops, durationMs: o.durationMs, ...w.figures, ...v }
  } finally {
    await sys.stop()
    await broker.shutdown()
  }
}

export function formatReport (r: ChaosReport): string {
  const rows: Array<[string, string | number]> = [
    ['seed', r.seed],
    ['duration (s)', r.durationMs / 1000],
    ['kill -9 (usuarios or pagos)', r.kills],
    ['broker connection drops', r.drops],
    ['requests sent (payments + top-ups)', r.sent],
    ['idempotent retries of old keys', r.replays],
    ['transport retries (5xx / refused / 429)', r.retries],
    ['429 from the rate limit (waited out, same key)', r.rateLimited],
    ['payments accepted (202)', r.accepted],
    ['payments refused (409)', r.refused],
    ['top-ups', r.topUps],
    ['refunds asked / accepted (202) / refused (409)', `${r.refundsSent} / ${r.refunds} / ${r.refundsRefused}`],
    ['payments completed', r.completed],
    ['payments failed (refunded)', r.failed],
    ['unknown outcomes (must be 0)', r.unknown],
    ['replays answered differently (must be 0)', r.replayMismatches],
    ['lost (must be 0)', r.lost],
    ['duplicated (must be 0)', r.duplicated],
    ['invariant violations (must be 0)', r.violations.length],
    ['time to quiet (ms)', r.quietMs]
  ]
  const width = Math.max(...rows.map(([k]) => k.length))
  return [...rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`), ...r.violations.map((v) => `  violation: ${v}`)].join('\n')
}

export function healthy (r: ChaosReport): boolean {
  return r.unknown === 0 && r.replayMismatches === 0 && r.lost === 0 && r.duplicated === 0 && r.violations.length === 0 &&
    r.completed + r.failed === r.accepted
}

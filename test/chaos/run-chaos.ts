import { startPrivatePostgres, type PrivatePostgres } from '../../lib/launch/private-postgres.js'
import { startPrivateCluster, type PrivateCluster } from '../../lib/launch/private-rabbitmq.js'
import { startFaultCluster, type FaultCluster } from '../helpers/fault-cluster.js'
import { seededRng, verify, Workload, type Figures, type Rng, type Verdict } from '../helpers/workload.js'

/** A fault a script can ask for: kill -9 of one instance (of the service named, picked at random), or one of the others. */
export type Fault = 'kill usuarios' | 'kill pagos' | 'kill gateway' | 'drop' | 'pg terminate' | 'pg restart' | 'pg crash' | 'rabbit node'

export interface ChaosOptions {
  durationMs: number
  /** sqlite (default): one instance per service. postgres: a private PostgreSQL server, `instances` of usuarios and of pagos. */
  store?: 'sqlite' | 'postgres'
  /** Instances of usuarios and of pagos each (default 1; more need postgres). */
  instances?: number
  /** RabbitMQ nodes (default 1); 3 form a cluster, one of which is stopped and started at random moments. */
  rabbitmqNodes?: 1 | 3
  /** Expected kill -9 per second (of any instance, the gateway's too, chosen at random). */
  killRate: number
  /** Expected broker connection drops per second (every connection of every running node). */
  dropRate: number
  /** Expected pg_terminate_backend rounds per second (every connection of the services; postgres only). */
  pgTerminateRate?: number
  /** Expected PostgreSQL restarts (stop -m fast, start) per second (postgres only). */
  pgRestartRate?: number
  /** Expected PostgreSQL crashes (stop -m immediate, start: crash recovery) per second (postgres only). */
  pgCrashRate?: number
  /** Expected stops of one RabbitMQ node per second (3 nodes only); it starts again after rabbitDownMs. */
  rabbitNodeRate?: number
  /** How long a stopped RabbitMQ node stays down (default 5000 ms). */
  rabbitDownMs?: number
  seed: number
  users: number
  concurrency: number
  log: (line: string) => void
  /** Faults done for sure, spread evenly over the run, on top of the random ones. */
  script?: Fault[]
  /** Extra env for the services (e.g. a tight gateway rate limit). */
  env?: NodeJS.ProcessEnv
}

/** How many faults of each kind happened. */
export interface FaultCounts {
  /** kill -9 in all, and per instance ('usuarios-1', 'gateway', …). */
  kills: number
  killsByInstance: Record<string, number>
  drops: number
  pgTerminations: number
  /** Backends those rounds ended. */
  pgBackendsTerminated: number
  pgRestarts: number
  pgCrashes: number
  /** One node stopped (stop_app) and started again (start_app). */
  rabbitNodeStops: number
  rabbitNodeStarts: number
}

export interface ChaosReport extends Figures, Verdict, FaultCounts {
  seed: number
  store: 'sqlite' | 'postgres'
  instances: number
  rabbitmqNodes: number
  durationMs: number
}

const TICK_MS = 200
const DATABASES = ['usuarios', 'pagos']

/** Refuses what cannot run, with the option's name: more instances without postgres, a node count other than 1 or 3. */
export function checkOptions (o: ChaosOptions): void {
  const instances = o.instances ?? 1
  if (!Number.isInteger(instances) || instances < 1) throw new Error('--instances must be a whole number of 1 or more')
  if (instances > 1 && (o.store ?? 'sqlite') !== 'postgres') throw new Error('--instances above 1 needs --store postgres (SQLite is one process per file)')
  if (![1, 3].includes(o.rabbitmqNodes ?? 1)) throw new Error('--rabbitmq-nodes must be 1 or 3')
  const pgOnly: Fault[] = ['pg terminate', 'pg restart', 'pg crash']
  if ((o.store ?? 'sqlite') !== 'postgres' && o.script?.some((f) => pgOnly.includes(f)) === true) throw new Error('PostgreSQL faults need store postgres')
  if ((o.rabbitmqNodes ?? 1) === 1 && o.script?.includes('rabbit node') === true) throw new Error('a rabbit node fault needs 3 nodes')
}

/**
 * A bounded random workload (payments, top-ups, refunds, idempotent retries)
 * across many users while, at random moments, instances are killed with
 * kill -9, the broker drops every connection, and (on postgres) the
 * services' database connections are terminated and the server restarted or
 * crashed; with 3 RabbitMQ nodes one of them is stopped and started. Then
 * quiet, then every invariant against the model of what the client was told.
 * The seed fixes every random choice (users, amounts, which fault at which
 * tick); timing still varies.
 */
export async function runChaos (o: ChaosOptions): Promise<ChaosReport> {
  checkOptions(o)
  const store = o.store ?? 'sqlite'
  const instances = o.instances ?? 1
  const rabbitmqNodes = o.rabbitmqNodes ?? 1
  const rng = seededRng(o.seed)
  const faults = seededRng(o.seed ^ 0x5bd1e995)
  const counts: FaultCounts = { kills: 0, killsByInstance: {}, drops: 0, pgTerminations: 0, pgBackendsTerminated: 0, pgRestarts: 0, pgCrashes: 0, rabbitNodeStops: 0, rabbitNodeStarts: 0 }
  let pg: PrivatePostgres | undefined
  let rabbit: PrivateCluster | undefined
  let sys: FaultCluster | undefined
  try {
    // Both started before either failure is thrown, so that `finally` stops whichever did start.
    const [p, b] = await Promise.allSettled([store === 'postgres' ? startPrivatePostgres() : undefined, startPrivateCluster(rabbitmqNodes)])
    pg = p.status === 'fulfilled' ? p.value : undefined
    rabbit = b.status === 'fulfilled' ? b.value : undefined
    if (p.status === 'rejected') throw p.reason
    if (b.status === 'rejected') throw b.reason
    const env: NodeJS.ProcessEnv = {
      AMQP_URL: b.value.url,
      PROCESADOR_LATENCIA_MS: '5',
      PROCESADOR_TASA_FALLO: '0.1',
      PROCESADOR_SEMILLA: String(o.seed),
      ...o.env
    }
    if (pg !== undefined) {
      env.USUARIOS_DATABASE_URL = await pg.createDatabase('usuarios')
      env.PAGOS_DATABASE_URL = await pg.createDatabase('pagos')
    }
    sys = await startFaultCluster('chaos', { instances, env })
    const w = new Workload(() => sys!.urls.gateway, rng, `chaos${o.seed}`)
    await w.createUsers(o.users, 1000)
    const start = Date.now()
    const end = start + o.durationMs
    let stopping = false
    const load = w.run(o.concurrency, () => stopping)
    const act = actions(o, counts, faults, sys, pg, b.value)
    const script = [...(o.script ?? [])]
    const scriptLength = script.length
    while (Date.now() < end) {
      await new Promise((resolve) => setTimeout(resolve, TICK_MS))
      const p = TICK_MS / 1000
      if (faults() < o.killRate * p) await act.kill(pick(faults, sys.instances))
      if (faults() < o.dropRate * p) await act.drop()
      if (pg !== undefined) {
        if (faults() < (o.pgTerminateRate ?? 0) * p) await act.fault('pg terminate')
        if (faults() < (o.pgRestartRate ?? 0) * p) await act.fault('pg restart')
        if (faults() < (o.pgCrashRate ?? 0) * p) await act.fault('pg crash')
      }
      if (rabbitmqNodes > 1 && faults() < (o.rabbitNodeRate ?? 0) * p) await act.fault('rabbit node')
      const due = scriptLength - script.length + 1
      if (script.length > 0 && Date.now() - start >= due * o.durationMs / (scriptLength + 1)) await act.fault(script.shift()!)
    }
    // Scripted faults the random ones left no time for still happen, under load.
    for (const next of script) await act.fault(next)
    await act.settled()
    stopping = true
    await load
    o.log('faults stopped, waiting for quiet')
    const v = await verify(w, sys.urls)
    return { seed: o.seed, store, instances, rabbitmqNodes, durationMs: o.durationMs, ...counts, ...w.figures, ...v }
  } finally {
    await sys?.stop()
    await Promise.allSettled([rabbit?.shutdown(), pg?.shutdown()])
  }
}

function pick<T> (rng: Rng, items: T[]): T {
  return items[Math.floor(rng() * items.length)]!
}

/** Each fault, logged and counted in the report. */
function actions (o: ChaosOptions, r: FaultCounts, rng: Rng, sys: FaultCluster, pg: PrivatePostgres | undefined, rabbit: PrivateCluster) {
  let nodeDown: Promise<void> | undefined
  const kill = async (instance: string): Promise<void> => {
    o.log(`kill -9 ${instance}`)
    await sys.kill9(instance)
    await sys.start(instance)
    r.kills++
    r.killsByInstance[instance] = (r.killsByInstance[instance] ?? 0) + 1
  }
  const drop = async (): Promise<void> => {
    o.log('broker: close all connections')
    await rabbit.closeAllConnections()
    r.drops++
  }
  // One node at a time, in the background (the other faults go on): 2 of 3 keep the quorum.
  const stopNode = (): void => {
    if (nodeDown !== undefined) return
    const node = pick(rng, rabbit.nodes)
    nodeDown = (async () => {
      o.log(`rabbitmq: stop_app ${node.node}`)
      await node.stopApp()
      r.rabbitNodeStops++
      await new Promise((resolve) => setTimeout(resolve, o.rabbitDownMs ?? 5000))
      o.log(`rabbitmq: start_app ${node.node}`)
      await node.startApp()
      r.rabbitNodeStarts++
    })().finally(() => { nodeDown = undefined })
  }
  const fault = async (f: Fault): Promise<void> => {
    switch (f) {
      case 'kill usuarios':
      case 'kill pagos':
      case 'kill gateway':
        return await kill(pick(rng, sys.instances.filter((i) => i.startsWith(f.slice(5)))))
      case 'drop':
        return await drop()
      case 'pg terminate': {
        const n = await pg!.terminateConnections(DATABASES)
        o.log(`postgres: pg_terminate_backend of ${n} connections`)
        r.pgTerminations++
        r.pgBackendsTerminated += n
        return
      }
      case 'pg restart':
        o.log('postgres: restart (stop -m fast, start)')
        await pg!.restart()
        r.pgRestarts++
        return
      case 'pg crash':
        o.log('postgres: crash (stop -m immediate, start: crash recovery)')
        await pg!.crashAndRecover()
        r.pgCrashes++
        return
      case 'rabbit node':
        return stopNode()
    }
  }
  return { kill, drop, fault, settled: async () => { await nodeDown } }
}

export function formatReport (r: ChaosReport): string {
  const byInstance = Object.entries(r.killsByInstance).sort(([a], [b]) => a.localeCompare(b)).map(([i, n]) => `${i} ${n}`).join(', ')
  const rows: Array<[string, string | number]> = [
    ['seed', r.seed],
    ['store / instances per service / rabbitmq nodes', `${r.store} / ${r.instances} / ${r.rabbitmqNodes}`],
    ['duration (s)', r.durationMs / 1000],
    ['kill -9 (any instance)', r.kills === 0 ? 0 : `${r.kills} (${byInstance})`],
    ['broker connection drops', r.drops],
    ...(r.store === 'postgres'
      ? [
          ['pg_terminate_backend rounds (connections ended)', `${r.pgTerminations} (${r.pgBackendsTerminated})`],
          ['postgres restarts (stop -m fast)', r.pgRestarts],
          ['postgres crashes (stop -m immediate, recovery)', r.pgCrashes]
        ] as Array<[string, number | string]>
      : []),
    ...(r.rabbitmqNodes > 1 ? [['rabbitmq node stopped / started', `${r.rabbitNodeStops} / ${r.rabbitNodeStarts}`]] as Array<[string, string]> : []),
    ['requests sent (payments + top-ups)', r.sent],
    ['idempotent retries of old keys', r.replays],
    ['transport retries (5xx / refused / 429)', r.retries],
    ['429 from the rate limit (waited out, same key)', r.rateLimited],
    ['503 database unavailable (Retry-After waited, same key)', r.unavailable],
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
    ['dead-lettered messages (must be 0)', r.deadLettered],
    ['time to quiet (ms)', r.quietMs]
  ]
  const width = Math.max(...rows.map(([k]) => k.length))
  return [...rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`), ...r.violations.map((v) => `  violation: ${v}`)].join('\n')
}

export function healthy (r: ChaosReport): boolean {
  return r.unknown === 0 && r.replayMismatches === 0 && r.lost === 0 && r.duplicated === 0 && r.violations.length === 0 && r.deadLettered === 0 &&
    r.completed + r.failed === r.accepted
}

import { readFileSync } from 'node:fs'
import pg from 'pg'
import type { HostsCluster } from '../lib/launch/hosts-cluster.js'

/*
 * Round trips per payment in a bench:scale scenario across hosts
 * (lib/launch/hosts-cluster.ts), counted where they happen rather than
 * estimated:
 *   - PostgreSQL: pg_stat_statements on the private server. Kysely sends one
 *     statement per round trip (begin and commit included), so calls are round
 *     trips. Each statement is put in the payment step that runs it, by its
 *     database and text (the rules below).
 *   - RabbitMQ: rabbitmq_prometheus's global counters (messages published,
 *     confirmed, delivered, acknowledged).
 *   - Packets: what each host's link carried both ways (the kernel's counters
 *     of the link's root-namespace end).
 * Counted from startRoundTrips() (the start of the measured window) until
 * its read function runs (once every payment settled). Every figure is per
 * payment pagos processed in the window (the rows its table gained; in a
 * steady state each step sees about as many). A batched statement serves
 * the payments of one turn together, so a step's figure is below 1 when it
 * batches. (The payments accepted in the window are not the same ones: the
 * warm-up's backlog settles inside it.)
 */

interface StepRule {
  step: string
  database: 'usuarios' | 'pagos'
  /** The statements of the step, by their text (Kysely's quoted names or hand-written SQL). */
  match: RegExp
}

/*
 * By what a statement writes, whatever its shape: the batched statements of
 * one turn (usuarios/store/one-statement.ts, pagos/store/procesados-store.ts)
 * as well as the per-payment transactions of the rarer outcomes. The relay's
 * claim is tried first: it is the only statement that starts by deleting or
 * reading the outbox.
 */
const RULES: StepRule[] = [
  // The outbox relays of both services: claim and delete a batch (published before the commit).
  { step: 'relays (both services)', database: 'usuarios', match: /^(delete from|select .* from) "?outbox"?/ },
  { step: 'relays (both services)', database: 'pagos', match: /^(delete from|select .* from) "?outbox"?/ },
  // POST /usuarios/:id/pagar: debit, the pago, its movimiento and pago.solicitado in the outbox.
  { step: 'usuarios accept', database: 'usuarios', match: /insert into "?pagos"?|saldo_centimos"? - |"?idempotenc/ },
  // pago.solicitado: already seen?, then the provider's answer stored with pago.procesado in the outbox.
  { step: 'pagos process', database: 'pagos', match: /"?pagos"?/ },
  // pago.procesado: the pago's final estado (and a refund of the debit when it failed).
  { step: 'usuarios settle', database: 'usuarios', match: /update "?pagos"? set "?estado"?|from "?pagos"? where .*for update|saldo_centimos"? \+ / }
]

export interface StepRoundTrips {
  step: string
  /** PostgreSQL statements per payment (each one round trip; begin and commit counted apart, per database). */
  postgres: number
}

export interface RoundTrips {
  /** Payments pagos processed in the window (rows its database gained): the denominator of every figure. */
  payments: number
  steps: StepRoundTrips[]
  /** begin + commit (+ rollback) per payment, per database: the transactions' own round trips. */
  transactionControl: { usuarios: number, pagos: number }
  /** Statements no rule claims (health checks, sweeps), per payment. */
  otherPostgres: number
  /** AMQP messages per payment: published (basic.publish), confirmed, delivered, acknowledged. */
  amqp: { published: number, confirmed: number, delivered: number, acknowledged: number }
  /** Packets per payment through each host's link, both ways. */
  packets: Record<string, number>
}

interface Counters { broker: Record<string, number>, packets: Record<string, number> }

async function withAdmin<T> (cluster: HostsCluster, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: cluster.postgres.adminUrl, connectionTimeoutMillis: 10_000 })
  c.on('error', () => {})
  await c.connect()
  try { return await fn(c) } finally { await c.end().catch(() => {}) }
}

/** rabbitmq_global_messages_* counters summed over their labels. */
async function brokerCounters (cluster: HostsCluster): Promise<Record<string, number>> {
  const text = await (await fetch(cluster.brokerMetricsUrl)).text()
  const sums: Record<string, number> = {}
  for (const line of text.split('\n')) {
    const m = /^rabbitmq_global_messages_(received|confirmed|delivered|acknowledged)_total(?:\{[^}]*\})? (\d+)/.exec(line)
    if (m !== null) sums[m[1]!] = (sums[m[1]!] ?? 0) + Number(m[2])
  }
  return sums
}

function packetCounters (cluster: HostsCluster): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const h of cluster.hosts.hosts) {
    const read = (what: string): number => Number(readFileSync(`/sys/class/net/${h.link}/statistics/${what}`, 'utf8'))
    counts[h.name] = read('rx_packets') + read('tx_packets')
  }
  return counts
}

/** Loads pg_stat_statements into the postgres database (once per cluster). */
export async function prepareRoundTrips (cluster: HostsCluster): Promise<void> {
  await withAdmin(cluster, async (c) => await c.query('create extension if not exists pg_stat_statements'))
}

/** Rows in pagos' own table: the payments it has processed. */
async function processed (cluster: HostsCluster): Promise<number> {
  const url = new URL(cluster.postgres.adminUrl)
  url.pathname = `/${cluster.databases.pagos}`
  const c = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 10_000 })
  c.on('error', () => {})
  await c.connect()
  try { return Number((await c.query('select count(*) as n from pagos')).rows[0].n) } finally { await c.end().catch(() => {}) }
}

/** Zeroes the statement counts and notes the broker's, the links' and pagos' counts; read() gives the difference per payment. */
export async function startRoundTrips (cluster: HostsCluster): Promise<() => Promise<RoundTrips>> {
  await withAdmin(cluster, async (c) => await c.query('select pg_stat_statements_reset()'))
  const before: Counters = { broker: await brokerCounters(cluster), packets: packetCounters(cluster) }
  const processedBefore = await processed(cluster)
  return async () => {
    const packets = packetCounters(cluster)
    const broker = await brokerCounters(cluster)
    const payments = await processed(cluster) - processedBefore
    const rows = await withAdmin(cluster, async (c) => (await c.query(
      'select d.datname as database, s.query, s.calls::int as calls from pg_stat_statements s join pg_database d on d.oid = s.dbid where d.datname = any($1)',
      [[cluster.databases.usuarios, cluster.databases.pagos]]
    )).rows as Array<{ database: string, query: string, calls: number }>)
    const n = Math.max(payments, 1)
    const calls = new Map<string, number>()
    const transactionControl = { usuarios: 0, pagos: 0 }
    let other = 0
    for (const row of rows) {
      const query = row.query.replace(/\s+/g, ' ').trim().toLowerCase()
      const database = row.database === cluster.databases.usuarios ? 'usuarios' : 'pagos'
      if (/^(begin|commit|rollback)\b/.test(query)) {
        transactionControl[database] += row.calls / n
        continue
      }
      const rule = RULES.find((r) => r.database === database && r.match.test(query))
      if (rule === undefined) other += row.calls
      else calls.set(rule.step, (calls.get(rule.step) ?? 0) + row.calls)
    }
    const order = ['usuarios accept', 'pagos process', 'usuarios settle', 'relays (both services)']
    return {
      payments,
      steps: order.map((step) => ({ step, postgres: (calls.get(step) ?? 0) / n })),
      transactionControl,
      otherPostgres: other / n,
      amqp: {
        published: ((broker.received ?? 0) - (before.broker.received ?? 0)) / n,
        confirmed: ((broker.confirmed ?? 0) - (before.broker.confirmed ?? 0)) / n,
        delivered: ((broker.delivered ?? 0) - (before.broker.delivered ?? 0)) / n,
        acknowledged: ((broker.acknowledged ?? 0) - (before.broker.acknowledged ?? 0)) / n
      },
      packets: Object.fromEntries(Object.entries(packets).map(([host, count]) => [host, (count - (before.packets[host] ?? 0)) / n]))
    }
  }
}

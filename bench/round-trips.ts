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
 * its read function runs (once every payment settled). A step's figure is
 * per payment that went through that step in the window (its transactions:
 * the calls of its perTransaction statement); the relays', the broker's and
 * the links' figures are per payment pagos processed in the window. (The
 * payments accepted in the window are not the same ones: the warm-up's
 * backlog settles inside it.)
 */

interface StepRule {
  step: string
  database: 'usuarios' | 'pagos'
  /** The statements of the step (begin and commit are counted apart). */
  match: RegExp
  /** The statement that runs once per transaction of the step: its calls are the step's transactions (a begin and a commit each). */
  perTransaction?: RegExp
}

const OUTBOX_RELAY = /^(select|delete|update) .*"outbox"/
const RULES: StepRule[] = [
  // POST /usuarios/:id/pagar: debit, the pago, its movimiento and pago.solicitado in the outbox, one transaction.
  { step: 'usuarios accept', database: 'usuarios', match: /^(update "usuarios" set "saldo_centimos" = "saldo_centimos" -|insert into "(pagos|movimientos|outbox)"|.*"idempotenc)/, perTransaction: /^insert into "pagos"/ },
  // pago.solicitado: the provider's answer stored with pago.procesado in the outbox.
  { step: 'pagos process', database: 'pagos', match: /^(select "id" from "pagos"|insert into "(pagos|outbox)")/, perTransaction: /^insert into "pagos"/ },
  // pago.procesado: the pago's final estado (and a refund of the debit when it failed).
  { step: 'usuarios settle', database: 'usuarios', match: /^(select \* from "pagos" where "id" = \$1 for update|update "pagos" set "estado"|update "usuarios" set "saldo_centimos" = "saldo_centimos" \+)/, perTransaction: /^update "pagos" set "estado"/ },
  // The outbox relays of both services: claim a batch, publish it, delete it.
  { step: 'relays (both services)', database: 'usuarios', match: OUTBOX_RELAY, perTransaction: /^select .*"outbox"/ },
  { step: 'relays (both services)', database: 'pagos', match: OUTBOX_RELAY, perTransaction: /^select .*"outbox"/ }
]

export interface StepRoundTrips {
  step: string
  /** Payments through the step in the window (its transactions); 0 for the relays. */
  payments: number
  /** PostgreSQL round trips per payment, begin and commit included. */
  postgres: number
  /** Of which begin + commit. */
  transactionControl: number
}

export interface RoundTrips {
  /** Payments pagos processed in the window: the denominator of everything but the steps. */
  payments: number
  steps: StepRoundTrips[]
  /** Statements no rule claims (health checks, sweeps, the unclaimed begin/commit), per payment. */
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

/** Zeroes the statement counts and notes the broker's and the links' counters; read() gives the difference. */
export async function startRoundTrips (cluster: HostsCluster): Promise<() => Promise<RoundTrips>> {
  await withAdmin(cluster, async (c) => await c.query('select pg_stat_statements_reset()'))
  const before: Counters = { broker: await brokerCounters(cluster), packets: packetCounters(cluster) }
  return async () => {
    const packets = packetCounters(cluster)
    const broker = await brokerCounters(cluster)
    const rows = await withAdmin(cluster, async (c) => (await c.query(
      'select d.datname as database, s.query, s.calls::int as calls from pg_stat_statements s join pg_database d on d.oid = s.dbid where d.datname = any($1)',
      [[cluster.databases.usuarios, cluster.databases.pagos]]
    )).rows as Array<{ database: string, query: string, calls: number }>)
    const steps = new Map<string, StepRoundTrips>()
    let other = 0
    for (const row of rows) {
      const query = row.query.replace(/\s+/g, ' ').trim()
      if (/^(begin|commit|rollback)$/i.test(query)) {
        other += row.calls
        continue
      }
      const database = row.database === cluster.databases.usuarios ? 'usuarios' : 'pagos'
      const rule = RULES.find((r) => r.database === database && r.match.test(query))
      if (rule === undefined) {
        other += row.calls
        continue
      }
      const s = steps.get(rule.step) ?? { step: rule.step, payments: 0, postgres: 0, transactionControl: 0 }
      s.postgres += row.calls
      if (rule.perTransaction?.test(query) === true) {
        if (!rule.step.startsWith('relays')) s.payments += row.calls
        s.postgres += 2 * row.calls
        s.transactionControl += 2 * row.calls
        other -= 2 * row.calls
      }
      steps.set(rule.step, s)
    }
    const order = [...new Set(RULES.map((r) => r.step))]
    const payments = steps.get('pagos process')?.payments ?? 0
    const n = Math.max(payments, 1)
    return {
      payments,
      steps: order.map((step) => steps.get(step) ?? { step, payments: 0, postgres: 0, transactionControl: 0 }).map((s) => {
        const per = s.payments > 0 ? s.payments : n
        return { ...s, postgres: s.postgres / per, transactionControl: s.transactionControl / per }
      }),
      otherPostgres: Math.max(other, 0) / n,
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

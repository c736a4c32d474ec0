import type { HttpComparison } from './http-load.js'
import type { PaymentPhase } from './payments.js'
import type { CpuShare } from './procfs.js'
import type { ProfileSummary } from './cpuprofile-summary.js'
import type { RawBrokerFigures } from './raw-broker.js'

export type ServiceMb = Record<string, number>

export interface TargetCheck {
  target: string
  measured: string
  /** null: not measured in this run. */
  met: boolean | null
  margin: string
}

export interface BenchResult {
  label: string
  startedAt: string
  finishedAt: string
  wallSeconds: number
  machine: { cores: number, cpu: string, memoryGb: number, node: string, loadAverageAtStart: number[], loadAverageAtEnd: number[] }
  settings: { servicesEnv: Record<string, string>, gateway: string, flags: Record<string, unknown> }
  startupMs: Record<string, number>
  http?: {
    comparison: HttpComparison
    nginx: { version: string, settings: string } | { skipped: string }
    nodeHttpProxy: { version: string, settings: string }
    gatewayVsDirect: number
    gatewayVsNodeHttpProxy: number
    p99GatewayVsNodeHttpProxy: number
    gatewayVsNginx: number | null
    p99GatewayVsNginx: number | null
    cpu: CpuShare
  }
  broker?: RawBrokerFigures & { cpu: CpuShare }
  payments?: {
    phases: PaymentPhase[]
    /** saturation completed/s ÷ (raw broker msg/s ÷ 2) */
    ratioToBroker: number | null
  }
  memory: {
    /** Right after start-up, before any load. */
    startMb: ServiceMb
    peakMb: ServiceMb
    endMb: ServiceMb
    checkpoints: Array<{ payments: number, quietRssMb: ServiceMb, afterGc: Record<string, { rss: number, heapUsed: number, heapTotal: number, external: number, arrayBuffers: number, rssAnon: number, rssFile: number, rssShmem: number }> }>
    /** (last checkpoint − first) ÷ first, per service: RSS and V8 heap after a full GC, and the quiet RSS before it. */
    growth: { rssAfterGc: Record<string, number>, heapUsedAfterGc: Record<string, number>, quietRss: Record<string, number> } | null
  }
  targets: TargetCheck[]
  profiles?: Array<{ service: string, summary: ProfileSummary }>
  /** --probe: main-thread time per kind of SQLite statement, and the event loop's delay, over the whole run. */
  probe?: Array<{
    service: string
    payments: number
    sqlite: Record<string, { calls: number, ms: number, maxMs: number, over10ms: number, over100ms: number }>
    eventLoop: { delayP50Ms: number, delayP99Ms: number, delayMaxMs: number, utilization: number }
  }>
  profileDir?: string
  notes: string[]
}

const f0 = (n: number): string => Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a'
const f1 = (n: number): string => Number.isFinite(n) ? n.toFixed(1) : 'n/a'
const f2 = (n: number): string => Number.isFinite(n) ? n.toFixed(2) : 'n/a'
const pct = (n: number): string => `${n.toFixed(0)}%`

type Row = [string, string, string]

const totalMs = (ms: Record<string, number>): number => Object.values(ms).reduce((a, b) => a + b, 0)

/** RabbitMQ's CPU ms per payment ÷ every process's (bench, services, gateway, RabbitMQ); undefined without a RabbitMQ figure. */
export function rabbitmqShare (ms: Record<string, number>): number | undefined {
  const total = totalMs(ms)
  return ms.rabbitmq === undefined || total === 0 ? undefined : ms.rabbitmq / total
}

function cpuPerUnit (ms: Record<string, number>): string {
  return Object.entries(ms).filter(([, v]) => v >= 0.05).map(([k, v]) => `${k} ${v >= 10 ? f0(v) : f1(v)}`).join(', ') + ' ms'
}

function cpuLine (c: CpuShare): string {
  const parts = Object.entries(c.percentOfCore).map(([k, v]) => `${k} ${pct(v)}`)
  const psi = c.cpuPressurePercent === undefined ? '' : `; stalls: CPU ${pct(c.cpuPressurePercent)}, IO ${pct(c.ioPressurePercent ?? NaN)} of the time`
  return `${parts.join(', ')}, other processes ${pct(c.otherPercentOfCore)} (of one core; machine ${pct(c.machineBusyPercent)} busy${psi})`
}

/** Every figure as [figure, value, what it measures], grouped by section. */
export function sections (r: BenchResult): Array<{ title: string, rows: Row[] }> {
  const out: Array<{ title: string, rows: Row[] }> = []
  out.push({
    title: 'Start-up',
    rows: Object.entries(r.startupMs).map(([s, ms]) => [`${s} start-up`, `${f0(ms)} ms`, 'spawn of `node dist/<service>/server.js` → its `ready` log line, or its port accepting connections when LOG_LEVEL hides the line (migrations on an empty database, broker connect), each service started alone'])
  })
  if (r.http !== undefined) {
    const h = r.http
    const rows: Row[] = []
    const what = (t: string): string => `GET ${h.comparison.path} ${t}, ${h.comparison.connections} keep-alive connections, median of ${h.comparison.rounds} × ${h.comparison.seconds} s`
    for (const [name, m] of Object.entries(h.comparison.median)) {
      rows.push([`${name} req/s`, f0(m.reqPerSec), what(`via ${name}`)])
      rows.push([`${name} p50 / p99`, `${f1(m.p50Ms)} / ${f1(m.p99Ms)} ms`, 'autocannon latency, send → full response'])
      rows.push([`${name} CPU per 1k req`, cpuPerUnit(m.cpuMsPerKiloReq), 'CPU ms each process used per 1,000 answered requests (median of the rounds; `bench` is autocannon)'])
    }
    rows.push(['gateway ÷ direct', f2(h.gatewayVsDirect), 'throughput ratio, gateway vs usuarios alone'])
    rows.push(['gateway ÷ node-http-proxy', f2(h.gatewayVsNodeHttpProxy), `throughput ratio (target ≥ 1.0); ${h.nodeHttpProxy.version}: ${h.nodeHttpProxy.settings}`])
    rows.push(['gateway p99 ÷ node-http-proxy p99', f2(h.p99GatewayVsNodeHttpProxy), 'for comparison (no target)'])
    if ('skipped' in h.nginx) rows.push(['nginx', 'skipped', h.nginx.skipped])
    else {
      rows.push(['gateway ÷ nginx', f2(h.gatewayVsNginx ?? NaN), `throughput ratio (target ≥ 0.6); nginx ${h.nginx.version}: ${h.nginx.settings}`])
      rows.push(['gateway p99 ÷ nginx p99', f2(h.p99GatewayVsNginx ?? NaN), 'target ≤ 1.5'])
    }
    rows.push(['CPU during HTTP', cpuLine(h.cpu), 'CPU share over the whole HTTP phase; `bench` is autocannon (same process)'])
    out.push({ title: 'HTTP', rows })
  }
  if (r.broker !== undefined) {
    const b = r.broker
    out.push({
      title: 'Broker limit (raw rabbitmq-client loop)',
      rows: [
        ['raw msg/s', f0(b.messagesPerSec), `published, confirmed, delivered and acked per second over ${f0(b.seconds)} s: ${b.settings}`],
        ['raw published/s', f0(b.publishedPerSec), 'confirmed publishes per second'],
        ['confirm p50 / p99', `${f1(b.confirmP50Ms)} / ${f1(b.confirmP99Ms)} ms`, 'publish → broker confirm'],
        ['CPU during raw loop', cpuLine(b.cpu), '`bench` here is the raw loop itself']
      ]
    })
  }
  if (r.payments !== undefined) {
    for (const p of r.payments.phases) {
      const others = Object.entries(p.otherStatuses).map(([c, n]) => `${c}×${n}`).join(' ')
      out.push({
        title: `Payments: ${p.name}`,
        rows: [
          ['offered', p.offeredRate === null ? `as fast as answered, ${p.connections} connections` : `${f0(p.offeredRate)}/s evenly paced, up to ${p.connections} connections`, 'POST /usuarios/:id/pagar {"monto":1} through the gateway, round robin over the phase\'s users'],
          ['accepted/s', f0(p.acceptedPerSec), `202s per second of load (${f0(p.accepted)} in ${f1(p.loadSeconds)} s; ${f0(p.created)} created in all; not 202: ${others === '' ? 'none' : others}; transport errors ${p.transportErrors})`],
          ['accept p50 / p99', `${f1(p.acceptP50Ms)} / ${f1(p.acceptP99Ms)} ms`, p.offeredRate === null ? 'HTTP latency through the gateway, send → response (autocannon, closed loop)' : 'HTTP latency through the gateway, from each request\'s scheduled send time (open loop: waiting for a free connection counts)'],
          ['completed/s during load', f0(p.completedPerSecDuringLoad), 'payments that reached `completado` in usuarios while the load ran, per second'],
          ['drain rate', `${f0(p.drainPerSec)}/s`, 'all the phase\'s payments ÷ (last `completado` − first accept)'],
          ['accept → completado p50 / p99 / max', `${f1(p.endToEndP50Ms)} / ${f1(p.endToEndP99Ms)} / ${f0(p.endToEndMaxMs)} ms`, '`actualizadoEn − creadoEn` of every payment (accept transaction → `completado` transaction, ms resolution)'],
          ['accept → completado max, each second', p.timeline.map((b) => f0(b.endToEndMaxMs)).join(' '), 'per second of the load (by accept time): the slowest payment accepted in that second, ms'],
          ['outbox at load end', `usuarios ${p.outboxAtLoadEnd.usuarios}, pagos ${p.outboxAtLoadEnd.pagos}`, '/health/ready `outboxPendientes` right after the last request'],
          ['settle', `${f0(p.settleMs)} ms`, `load end → every payment out of \`pendiente\` (then outbox usuarios ${p.outboxAfterSettle.usuarios}, pagos ${p.outboxAfterSettle.pagos})`],
          ['outcome', `${f0(p.completed)} completado, ${p.failed} fallido, ${p.pending} pendiente`, 'every accepted payment must end completado (the simulated provider approves all)'],
          ['CPU during load', cpuLine(p.cpu), p.offeredRate === null ? '`bench` is autocannon' : '`bench` is the paced client (node:http)'],
          ['CPU per payment', cpuPerUnit(p.cpuMsPerPayment), 'CPU ms each process used per accepted payment, load start → all settled (includes the bench\'s settle polling)']
        ]
      })
    }
    if (r.payments.ratioToBroker !== null) {
      const rows: Row[] = [['completed/s ÷ (raw msg/s ÷ 2)', f2(r.payments.ratioToBroker), 'saturation completed/s during load ÷ half the raw loop\'s msg/s (a payment is two messages); target ≥ 0.4 (issue 16), the compass aims at 0.5']]
      const sat = r.payments.phases.find((p) => p.offeredRate === null)
      const share = sat === undefined ? undefined : rabbitmqShare(sat.cpuMsPerPayment)
      if (share !== undefined) rows.push(['RabbitMQ\'s share of the CPU per payment', `${pct(100 * share)} (${f2(sat!.cpuMsPerPayment.rabbitmq!)} of ${f2(totalMs(sat!.cpuMsPerPayment))} ms)`, 'at saturation: the broker\'s own work for two persistent, confirmed messages on quorum queues, not ours to cut; the rest is the services, the gateway and the load generator'])
      out.push({ title: 'Payments vs broker', rows })
    }
  }
  const m = r.memory
  const mem: Row[] = [
    ['RSS after start-up', Object.entries(m.startMb).map(([s, v]) => `${s} ${f0(v)}`).join(', ') + ' MB', 'VmRSS once all three were ready, before any request'],
    ['peak RSS', Object.entries(m.peakMb).map(([s, v]) => `${s} ${f0(v)}`).join(', ') + ' MB', 'max of VmRSS sampled every 200 ms and VmHWM, whole run'],
    ['RSS at end', Object.entries(m.endMb).map(([s, v]) => `${s} ${f0(v)}`).join(', ') + ' MB', 'VmRSS when the run ends (target ≤ 150 MB each)']
  ]
  const growthLine = (g: Record<string, number>): string => Object.entries(g).map(([s, v]) => `${s} ${v >= 0 ? '+' : ''}${(100 * v).toFixed(1)}%`).join(', ')
  for (const c of m.checkpoints) {
    mem.push([`after ${f0(c.payments)} payments: quiet RSS`, Object.entries(c.quietRssMb).map(([s, v]) => `${s} ${f0(v)}`).join(', ') + ' MB', 'median VmRSS over 2 s with no load, once that many payments were accepted and settled (depends on when V8 last collected)'])
    mem.push([`after ${f0(c.payments)} payments: after full GC`, Object.entries(c.afterGc).map(([s, v]) => `${s} RSS ${f0(v.rss)} (anon ${f0(v.rssAnon)}, file ${f0(v.rssFile)}, shmem ${f0(v.rssShmem)}) / V8 heap ${f0(v.heapUsed)}`).join('; ') + ' MB', 'right after a forced full GC: RSS by kind (/proc status: anonymous = JS heap + malloc, file = code and mapped files, shmem = e.g. SQLite\'s WAL index) and V8 heap used'])
  }
  if (m.growth !== null) {
    mem.push(['growth: RSS after full GC', growthLine(m.growth.rssAfterGc), 'first → last checkpoint; target ≤ +10% from 10k to 100k payments'])
    mem.push(['growth: V8 heap used after full GC', growthLine(m.growth.heapUsedAfterGc), 'first → last checkpoint: live JS objects (a leak shows here)'])
    mem.push(['growth: quiet RSS', growthLine(m.growth.quietRss), 'first → last checkpoint, without forcing a GC'])
  }
  out.push({ title: 'Memory', rows: mem })
  if ((r.probe ?? []).length > 0) {
    out.push({
      title: 'Event loop (whole run)',
      rows: r.probe!.flatMap((st): Row[] => [
        [`${st.service} delay p50 / p99 / max`, `${f1(st.eventLoop.delayP50Ms)} / ${f1(st.eventLoop.delayP99Ms)} / ${f0(st.eventLoop.delayMaxMs)} ms`, 'how late a 10 ms timer fired (resolution included): how long HTTP and AMQP I/O can wait behind other work'],
        [`${st.service} utilization`, pct(100 * st.eventLoop.utilization), 'share of the process\'s life its loop was not idle']
      ])
    })
  }
  for (const st of r.probe ?? []) {
    const entries = Object.entries(st.sqlite).sort((a, b) => b[1].ms - a[1].ms)
    if (entries.length === 0) continue
    const total = entries.reduce((a, [, v]) => a + v.ms, 0)
    out.push({
      title: `SQLite in ${st.service} (--probe; whole run, ${f0(st.payments)} payments)`,
      rows: [
        ['all statements + prepare()', `${f0(total)} ms, ${f2(total / Math.max(1, st.payments))} ms per payment`, 'main-thread wall time inside better-sqlite3 (bench/probe.cjs)'],
        ...entries.slice(0, 12).map(([k, v]): Row => [k, `${f0(v.ms)} ms, ${f2(v.calls / Math.max(1, st.payments))} calls and ${f2(v.ms / Math.max(1, st.payments))} ms per payment`, `${f0(v.calls)} calls, mean ${f0(1000 * v.ms / Math.max(1, v.calls))} µs, max ${f0(v.maxMs)} ms, ${v.over10ms} over 10 ms, ${v.over100ms} over 100 ms`])
      ]
    })
  }
  out.push({
    title: 'Targets (issue 7; the gateway\'s: issue 16)',
    rows: r.targets.map((t) => [t.target, `${t.met === null ? 'not measured' : t.met ? 'MET' : 'MISSED'}: ${t.measured}`, t.margin])
  })
  return out
}

export function toText (r: BenchResult): string {
  const lines: string[] = []
  for (const s of sections(r)) {
    lines.push('', `== ${s.title}`)
    const w = Math.max(...s.rows.map((row) => row[0].length))
    const v = Math.min(60, Math.max(...s.rows.map((row) => row[1].length)))
    for (const [a, b, c] of s.rows) lines.push(`${a.padEnd(w)}  ${b.padEnd(v)}  ${c}`)
  }
  if (r.notes.length > 0) lines.push('', '== Notes', ...r.notes.map((n) => `- ${n}`))
  return lines.join('\n')
}

const cell = (s: string): string => s.replace(/\|/g, '\\|')

export function toMarkdown (r: BenchResult, profileText: string[]): string {
  const lines = [
    `# Benchmark ${r.label} — ${r.startedAt}`,
    '',
    `${r.machine.cores} cores (${r.machine.cpu}), ${f0(r.machine.memoryGb)} GB, Node ${r.machine.node}; load average at start ${r.machine.loadAverageAtStart.map(f2).join(' ')}, at end ${r.machine.loadAverageAtEnd.map(f2).join(' ')}. Run took ${f0(r.wallSeconds)} s.`,
    '',
    `Gateway: ${r.settings.gateway}. Services env: \`${Object.entries(r.settings.servicesEnv).map(([k, v]) => `${k}=${v}`).join(' ')}\`.`,
    ''
  ]
  for (const s of sections(r)) {
    lines.push(`## ${s.title}`, '', '| figure | value | what it measures |', '|---|---|---|')
    for (const [a, b, c] of s.rows) lines.push(`| ${cell(a)} | ${cell(b)} | ${cell(c)} |`)
    lines.push('')
  }
  if (r.notes.length > 0) lines.push('## Notes', '', ...r.notes.map((n) => `- ${n}`), '')
  if (profileText.length > 0) lines.push('## CPU profiles', '', ...profileText.map((t) => `\`\`\`\n${t}\n\`\`\``), '')
  return lines.join('\n')
}

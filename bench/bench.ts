/*
 * npm run bench — how fast the built system is on this machine, in one
 * bounded run (about 2.5 minutes with the defaults; `--help` for the flags):
 *
 *   start-up   each service from spawn to its `ready` line
 *   HTTP       GET /usuarios/1 direct, through the gateway, a bare node-http-proxy and nginx (if installed)
 *   broker     a raw rabbitmq-client publish+consume loop with the services' durability settings
 *   payments   POST /usuarios/:id/pagar through the gateway at a fixed rate and at saturation,
 *              accepted/s, completed/s, accept and accept→completado latency, outbox backlog
 *   memory     peak RSS; RSS and V8 heap after a forced full GC at 10,000 payments (before the
 *              measured phases) and, with --payments-100k, at 100,000 (after them)
 *
 * Prints a table and writes bench/results/<label>-<date>.{json,md}. Not a
 * test: the figures depend on the machine, and the load generator (autocannon,
 * in this process) shares the cores with the services and RabbitMQ — every
 * phase reports how the CPU was shared, including other processes' share.
 * bench/FINDINGS.md reads the figures.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { AMQP_URL } from '../lib/launch/system.js'
import { formatSummary, summarise } from './cpuprofile-summary.js'
import { compareGet, type HttpTarget } from './http-load.js'
import { getJson } from './http-client.js'
import { findNginx, startNginx, type RunningNginx } from './nginx.js'
import { startNodeHttpProxy, type RunningNodeHttpProxy } from './node-http-proxy.js'
import { parseOptions } from './options.js'
import { createUsers, paymentPhase, processedTotal, runPaymentLoad, settle, type PaymentPhase, type PaymentTargets } from './payments.js'
import { cpuShare, cpuSnapshot, findRabbitPid, memoryMb, quietRss, startMemorySampler } from './procfs.js'
import { measureRawBroker } from './raw-broker.js'
import { toMarkdown, toText, type BenchResult } from './report.js'
import { checkTargets } from './targets.js'
import { startBenchSystem, type BenchSystem, type MemoryAfterGc } from './services.js'

const ROOT = resolve(import.meta.dirname, '..')
const opts = parseOptions(process.argv.slice(2))
const log = (msg: string): void => { console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`) }

if (!existsSync(join(ROOT, 'dist', 'usuarios', 'server.js'))) {
  console.error('dist/ is missing: run `npm run build` first (npm run bench does)')
  process.exit(1)
}

const t0 = performance.now()
const startedAt = new Date().toISOString()
const loadAtStart = loadavg()
const notes: string[] = []
if (loadAtStart[0]! > 1) notes.push(`The machine was not quiet: load average ${loadAtStart.map((x) => x.toFixed(2)).join(' ')} at start (other processes; see "other processes" in each CPU line).`)

let system: BenchSystem | undefined
let nginx: RunningNginx | undefined
let nodeHttpProxy: RunningNodeHttpProxy | undefined
const onSignal = (): void => { log('interrupted, stopping the services'); void (async () => { await nginx?.stop(); await nodeHttpProxy?.stop(); await system?.stop(); system?.cleanup(); process.exit(130) })() }
process.once('SIGINT', onSignal)
process.once('SIGTERM', onSignal)

try {
  log(`starting usuarios, pagos, gateway (one after the other)${opts.profile ? ' with --cpu-prof' : ''}`)
  system = await startBenchSystem({ prefetch: opts.prefetch, env: opts.env, gatewayAuth: opts.gatewayAuth, profile: opts.profile, probe: opts.probe, keep: opts.keep })
  const sys = system
  const pids = sys.pids()
  const rabbitPid = findRabbitPid()
  if (rabbitPid === undefined) notes.push('RabbitMQ\'s beam.smp was not found in /proc: its CPU share is counted under "other processes".')
  const cpuPids = { ...pids, rabbitmq: rabbitPid }
  const memory = startMemorySampler(pids)
  const startMb = Object.fromEntries(Object.entries(pids).map(([s, pid]) => [s, memoryMb(pid)?.rss ?? NaN]))
  const authHeaders: Record<string, string> = sys.apiKey === undefined ? {} : { authorization: `Bearer ${sys.apiKey}` }
  const gatewayNote = `rate limit off (RATE_LIMIT_MAX=0), API keys ${sys.apiKey === undefined ? 'off' : 'on (one key, sent as Bearer)'}`
  log(`up: ${Object.entries(sys.startupMs).map(([s, ms]) => `${s} ${Math.round(ms)} ms`).join(', ')}; gateway ${gatewayNote}`)

  const result: BenchResult = {
    label: opts.label,
    startedAt,
    finishedAt: '',
    wallSeconds: 0,
    machine: { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memoryGb: totalmem() / 2 ** 30, node: process.version, loadAverageAtStart: loadAtStart, loadAverageAtEnd: [] },
    settings: { servicesEnv: Object.fromEntries(Object.entries(sys.env).filter(([k]) => !['DATA_DIR', 'LOG_DIR', 'AMQP_URL', 'GATEWAY_API_KEYS'].includes(k))), gateway: gatewayNote, flags: { ...opts, phases: [...opts.phases] } },
    startupMs: sys.startupMs,
    memory: { startMb, peakMb: {}, endMb: {}, checkpoints: [], growth: null },
    targets: [],
    notes
  }

  // ---- HTTP -----------------------------------------------------------------
  if (opts.phases.has('http')) {
    const targets: HttpTarget[] = [
      { name: 'direct', url: sys.usuarios.url },
      { name: 'gateway', url: sys.gateway.url, headers: authHeaders }
    ]
    nodeHttpProxy = await startNodeHttpProxy(sys.usuarios.url)
    targets.push({ name: 'node-http-proxy', url: nodeHttpProxy.url })
    const nginxBin = opts.nginx === 'off' ? undefined : opts.nginx ?? findNginx()
    let nginxInfo: { version: string, settings: string } | { skipped: string }
    if (nginxBin === undefined) {
      nginxInfo = { skipped: opts.nginx === 'off' ? 'skipped (--nginx off)' : 'nginx is not installed (apt-get install -y nginx to get this row); the bench never installs it' }
    } else {
      nginx = await startNginx(nginxBin, sys.usuarios.port)
      targets.push({ name: 'nginx', url: nginx.url })
      nginxInfo = { version: nginx.version, settings: nginx.settings }
    }
    log(`HTTP: GET /usuarios/1 via ${targets.map((t) => t.name).join(', ')}: ${opts.httpRounds} rounds × ${opts.httpSeconds} s, ${opts.httpConnections} connections`)
    const httpPids = { ...cpuPids, 'node-http-proxy': nodeHttpProxy.process.pid, ...(nginx === undefined ? {} : nginx.pids()) }
    const c0 = cpuSnapshot(httpPids)
    const comparison = await compareGet(targets, '/usuarios/1', opts.httpConnections, opts.httpSeconds, opts.httpRounds, httpPids)
    const c1 = cpuSnapshot(httpPids)
    await nginx?.stop()
    nginx = undefined
    await nodeHttpProxy.stop()
    const nodeHttpProxyInfo = { version: nodeHttpProxy.version, settings: nodeHttpProxy.settings }
    nodeHttpProxy = undefined
    const m = comparison.median
    result.http = {
      comparison,
      nginx: nginxInfo,
      nodeHttpProxy: nodeHttpProxyInfo,
      gatewayVsDirect: m.gateway!.reqPerSec / m.direct!.reqPerSec,
      gatewayVsNodeHttpProxy: m.gateway!.reqPerSec / m['node-http-proxy']!.reqPerSec,
      p99GatewayVsNodeHttpProxy: m.gateway!.p99Ms / m['node-http-proxy']!.p99Ms,
      gatewayVsNginx: m.nginx === undefined ? null : m.gateway!.reqPerSec / m.nginx.reqPerSec,
      p99GatewayVsNginx: m.nginx === undefined ? null : m.gateway!.p99Ms / m.nginx.p99Ms,
      cpu: cpuShare(c0, c1)
    }
  }

  // ---- broker limit ---------------------------------------------------------
  if (opts.phases.has('broker')) {
    log(`broker: raw publish+consume loop for ${opts.brokerSeconds} s`)
    const c0 = cpuSnapshot(cpuPids)
    const raw = await measureRawBroker({ url: AMQP_URL, prefix: sys.prefix, seconds: opts.brokerSeconds, prefetch: opts.prefetch, window: opts.brokerWindow, maxQueued: opts.brokerMaxQueued })
    result.broker = { ...raw, cpu: cpuShare(c0, cpuSnapshot(cpuPids)) }
    log(`broker: ${Math.round(raw.messagesPerSec)} msg/s`)
  }

  // ---- payments and memory checkpoints -------------------------------------------
  const t: PaymentTargets = { gateway: sys.gateway.url, usuarios: sys.usuarios.url, pagos: sys.pagos.url, headers: authHeaders, pids: cpuPids }
  const settleMs = opts.settleTimeoutSeconds * 1000
  /** Payments created in the run so far (exact after each settle). */
  let accepted = 0
  const phases: PaymentPhase[] = []
  const checkpoints = opts.phases.has('memory') ? [...opts.memoryCheckpoints] : []
  let memUsers: number[] | undefined
  /** Closed-loop payments until `checkpoint` were made in the run, then the quiet RSS. */
  const reachCheckpoint = async (checkpoint: number): Promise<void> => {
    memUsers ??= await createUsers(t, opts.users, 'memory')
    while (accepted < checkpoint) {
      const amount = checkpoint - accepted
      log(`memory: ${amount} more payments to reach ${checkpoint}`)
      const load = await runPaymentLoad(t, { name: 'memory', users: memUsers, connections: opts.saturationConnections, amount })
      if (load.accepted === 0) throw new Error(`memory phase: no payment accepted (${JSON.stringify(load.otherStatuses)})`)
      await settle(t, memUsers, accepted + load.accepted, settleMs)
      accepted = await processedTotal(t)
    }
    if (accepted > checkpoint * 1.1) notes.push(`The ${checkpoint}-payment memory checkpoint was taken at ${accepted} payments (earlier phases went past it).`)
    const quietRssMb = await quietRss(pids)
    const afterGc: Record<string, MemoryAfterGc & { rssAnon: number, rssFile: number, rssShmem: number }> = {}
    for (const s of [sys.usuarios, sys.pagos, sys.gateway]) {
      const m = await s.memoryAfterGc()
      const kinds = memoryMb(s.process.pid!)
      afterGc[s.name] = { ...m, rssAnon: kinds?.anon ?? NaN, rssFile: kinds?.file ?? NaN, rssShmem: kinds?.shmem ?? NaN }
    }
    result.memory.checkpoints.push({ payments: accepted, quietRssMb, afterGc })
    log(`memory after ${accepted} payments: quiet RSS ${JSON.stringify(quietRssMb)}, after a full GC ${JSON.stringify(Object.fromEntries(Object.entries(afterGc).map(([k, v]) => [k, { rss: Math.round(v.rss), heapUsed: Math.round(v.heapUsed) }])))}`)
  }
  if (opts.phases.has('payments') || opts.phases.has('memory')) {
    log(`payments: creating ${opts.users} users per phase`)
    const warmUsers = await createUsers(t, 20, 'warm-up')
    const warm = await runPaymentLoad(t, { name: 'warm-up', users: warmUsers, connections: 16, seconds: 3 })
    await settle(t, warmUsers, warm.accepted, settleMs)
    accepted = await processedTotal(t)
    log(`payments: warm-up done (${warm.accepted} accepted, not measured)`)
  }
  // The first checkpoint (10,000) comes before the measured phases, which would go past it.
  if (checkpoints.length > 0 && opts.phases.has('payments')) await reachCheckpoint(checkpoints.shift()!)
  if (opts.phases.has('payments')) {
    for (const offered of opts.rates) {
      const rateUsers = await createUsers(t, opts.users, `rate ${offered}`)
      log(`payments: offered ${offered}/s for ${opts.rateSeconds} s over up to ${opts.rateConnections} connections`)
      const rate = await paymentPhase(t, { name: `fixed rate ${offered}/s`, users: rateUsers, connections: opts.rateConnections, rate: offered, seconds: opts.rateSeconds }, accepted, settleMs)
      accepted += rate.created
      phases.push(rate)
      log(`payments: ${Math.round(rate.acceptedPerSec)} accepted/s, accept→completado p99 ${Math.round(rate.endToEndP99Ms)} ms`)
      if (rate.acceptedPerSec < 0.95 * offered) notes.push(`At ${offered}/s offered the system did not keep up: ${Math.round(rate.acceptedPerSec)} payments/s accepted (every request was sent on time; answers came slower, requests queued for one of the ${opts.rateConnections} client connections, and the queue grew for the whole phase — its latencies are those of an overload).`)
    }

    const satUsers = await createUsers(t, opts.users, 'saturation')
    log(`payments: saturation for ${opts.saturationSeconds} s over ${opts.saturationConnections} connections`)
    const sat = await paymentPhase(t, { name: `saturation (${opts.saturationConnections} connections)`, users: satUsers, connections: opts.saturationConnections, seconds: opts.saturationSeconds }, accepted, settleMs)
    accepted += sat.created
    phases.push(sat)
    log(`payments: ${Math.round(sat.acceptedPerSec)} accepted/s, ${Math.round(sat.completedPerSecDuringLoad)} completed/s`)
    result.payments = {
      phases,
      ratioToBroker: result.broker === undefined ? null : sat.completedPerSecDuringLoad / (result.broker.messagesPerSec / 2)
    }
  }
  for (const checkpoint of checkpoints) await reachCheckpoint(checkpoint)
  {
    const cps = result.memory.checkpoints
    const [first, last] = [cps[0], cps.at(-1)]
    if (first !== undefined && last !== undefined && last !== first) {
      const growth = (pick: (c: NonNullable<typeof first>, s: string) => number): Record<string, number> =>
        Object.fromEntries(Object.keys(first.quietRssMb).map((s) => [s, pick(last, s) / pick(first, s) - 1]))
      result.memory.growth = {
        rssAfterGc: growth((c, s) => c.afterGc[s]!.rss),
        heapUsedAfterGc: growth((c, s) => c.afterGc[s]!.heapUsed),
        quietRss: growth((c, s) => c.quietRssMb[s]!)
      }
    }
  }

  result.memory.peakMb = memory.peak()
  result.memory.endMb = Object.fromEntries(Object.entries(pids).map(([s, pid]) => [s, memoryMb(pid)?.rss ?? NaN]))
  memory.stop()
  // A last look: nothing left behind.
  const [u, p] = await Promise.all([getJson(`${sys.usuarios.url}/health/ready`), getJson(`${sys.pagos.url}/health/ready`)])
  notes.push(`At the end: usuarios outbox ${String(u.outboxPendientes)}, dead letters ${String(u.deadLetter)}; pagos outbox ${String(p.outboxPendientes)}, dead letters ${String(p.deadLetter)}; ${accepted} payments accepted in the whole run.`)
  notes.push('The services run as deployed (`node --max-semi-space-size=8`, the gateway 16; see node_flags in deploy/lib.sh) plus `--expose-gc --require bench/probe.cjs`: a 10 ms event-loop delay sampler, and a full GC on the bench\'s request at memory checkpoints (nothing else changes; `--probe` adds SQLite statement timing).')
  notes.push(`The load generator (autocannon) and the raw broker loop run in this bench process, single-threaded, on the same ${result.machine.cores} cores as the three services and RabbitMQ; each CPU line gives every process's share in % of one core (200% = the whole machine). Bench process CPU over the run: ${(process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6).toFixed(1)} s.`)

  log('stopping the services')
  await sys.stop()
  system = undefined
  for (const [service, file] of Object.entries(sys.probeFiles)) {
    if (!existsSync(file)) { notes.push(`no probe figures from ${service} (it did not exit normally)`); continue }
    const probe = JSON.parse(readFileSync(file, 'utf8')) as Omit<NonNullable<BenchResult['probe']>[number], 'service' | 'payments'>
    ;(result.probe ??= []).push({ service, payments: accepted, ...probe })
  }
  sys.cleanup()
  if (opts.keep) notes.push(`Services' data and logs kept in ${sys.dir}.`)

  // ---- profiles -----------------------------------------------------------------
  const profileText: string[] = []
  if (sys.profileDir !== undefined) {
    result.profileDir = sys.profileDir
    result.profiles = []
    for (const service of ['usuarios', 'pagos', 'gateway']) {
      const file = join(sys.profileDir, `${service}.cpuprofile`)
      if (!existsSync(file)) { notes.push(`no CPU profile for ${service} (${file})`); continue }
      const summary = summarise(file, 20)
      result.profiles.push({ service, summary })
      profileText.push(formatSummary(summary))
    }
  }

  // ---- targets --------------------------------------------------------------------
  result.targets = checkTargets(result)
  result.finishedAt = new Date().toISOString()
  result.wallSeconds = (performance.now() - t0) / 1000
  result.machine.loadAverageAtEnd = loadavg()

  const outDir = resolve(ROOT, opts.outDir)
  mkdirSync(outDir, { recursive: true })
  const stamp = startedAt.replace(/[:.]/g, '-')
  const base = join(outDir, `${opts.label}-${stamp}`)
  writeFileSync(`${base}.json`, JSON.stringify(result, null, 2))
  writeFileSync(`${base}.md`, toMarkdown(result, profileText))
  console.log(toText(result))
  if (profileText.length > 0) console.log(`\n== CPU profiles (${sys.profileDir})\n\n${profileText.join('\n\n')}`)
  console.log(`\nwritten: ${base}.json, ${base}.md`)
} catch (err) {
  log(`failed: ${(err as Error).stack ?? String(err)}`)
  process.exitCode = 1
} finally {
  await nginx?.stop()
  await nodeHttpProxy?.stop()
  await system?.stop()
  system?.cleanup()
}

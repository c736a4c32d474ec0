'use strict'
/*
 * Measurement hook of `npm run bench`, loaded into the services with
 * `node --expose-gc --require bench/probe.cjs` (service code is untouched):
 *
 * - with BENCH_PROBE_SQLITE=1 (`--probe`): times every better-sqlite3
 *   prepare() and statement execution — wall time on the main thread, so a
 *   COMMIT includes its fsync — grouped by statement (BEGIN, COMMIT,
 *   INSERT INTO "pagos", ...);
 * - samples the event loop's delay (perf_hooks.monitorEventLoopDelay): how
 *   late a 10 ms timer fires, i.e. how long I/O waits behind other work;
 * - answers the bench's IPC message `bench:gc` with a full GC and
 *   process.memoryUsage() (memory checkpoints: what is still held once
 *   garbage is gone). The channel is unref'ed: it never keeps the process up.
 *
 * SQLite timings and event-loop figures go to BENCH_PROBE_FILE on exit.
 */
const { writeFileSync } = require('node:fs')
const { join } = require('node:path')
const { monitorEventLoopDelay, performance } = require('node:perf_hooks')

const file = process.env.BENCH_PROBE_FILE
const loopDelay = monitorEventLoopDelay({ resolution: 10 })
loopDelay.enable()

/* ---- SQLite statement timings ------------------------------------------- */

const stats = new Map()
const now = process.hrtime.bigint

const kinds = new Map()
function kindOf (sql) {
  let kind = kinds.get(sql)
  if (kind === undefined) { kind = classify(sql); kinds.set(sql, kind) }
  return kind
}

function classify (sql) {
  const s = sql.trim().replace(/\s+/g, ' ')
  const m = /^(begin|commit|rollback|select|insert into|update|delete from|pragma)\s*("?[\w]+"?)?/i.exec(s)
  if (m === null) return s.slice(0, 40)
  const verb = m[1].toUpperCase()
  if (verb === 'BEGIN' || verb === 'COMMIT' || verb === 'ROLLBACK') return verb
  if (verb === 'SELECT') {
    const from = /\bfrom\s+("?\w+"?)/i.exec(s)
    return `SELECT ${from === null ? s.slice(7, 30) : from[1]}`
  }
  return `${verb} ${m[2] ?? ''}`.trim()
}

function add (key, ns) {
  let st = stats.get(key)
  if (st === undefined) { st = { calls: 0, ns: 0n, maxNs: 0n, over10ms: 0, over100ms: 0 }; stats.set(key, st) }
  st.calls++
  st.ns += ns
  if (ns > st.maxNs) st.maxNs = ns
  if (ns > 10_000_000n) st.over10ms++
  if (ns > 100_000_000n) st.over100ms++
}

if (process.env.BENCH_PROBE_SQLITE === '1') {
  const Database = require(join(__dirname, '..', 'node_modules', 'better-sqlite3'))
  const patched = new WeakSet()
  const patchStatement = (proto) => {
    if (patched.has(proto)) return
    patched.add(proto)
    for (const method of ['run', 'get', 'all']) {
      const original = proto[method]
      proto[method] = function (...args) {
        const t = now()
        try { return original.apply(this, args) } finally { add(kindOf(this.source), now() - t) }
      }
    }
  }
  const originalPrepare = Database.prototype.prepare
  Database.prototype.prepare = function (sql) {
    const t = now()
    const stmt = originalPrepare.call(this, sql)
    add('prepare()', now() - t)
    patchStatement(Object.getPrototypeOf(stmt))
    return stmt
  }
}

/* ---- full GC on request --------------------------------------------------- */

if (typeof process.send === 'function') {
  process.on('message', (m) => {
    if (m === null || typeof m !== 'object' || m.type !== 'bench:gc') return
    if (typeof global.gc === 'function') { global.gc(); global.gc() }
    process.send({ type: 'bench:memory', id: m.id, gc: typeof global.gc === 'function', ...process.memoryUsage() })
  })
  process.channel.unref()
}

/* ---- on exit -------------------------------------------------------------- */

if (file !== undefined) {
  process.on('exit', () => {
    const sqlite = {}
    for (const [key, st] of stats) sqlite[key] = { calls: st.calls, ms: Number(st.ns) / 1e6, maxMs: Number(st.maxNs) / 1e6, over10ms: st.over10ms, over100ms: st.over100ms }
    loopDelay.disable()
    const ms = (ns) => ns / 1e6
    const eventLoop = {
      // The histogram includes the 10 ms resolution itself: a timer due every 10 ms that fires 12 ms later shows as 12 ms.
      delayP50Ms: ms(loopDelay.percentile(50)),
      delayP99Ms: ms(loopDelay.percentile(99)),
      delayMaxMs: ms(loopDelay.max),
      utilization: performance.eventLoopUtilization().utilization
    }
    // What the process held when stopped, without forcing a GC: V8 heap vs the rest.
    const mb = (n) => Math.round(n / 1048576 * 10) / 10
    const memoryAtExit = Object.fromEntries(Object.entries(process.memoryUsage()).map(([k, v]) => [k, mb(v)]))
    memoryAtExit.heapSpaces = Object.fromEntries(require('node:v8').getHeapSpaceStatistics().map((s) => [s.space_name, mb(s.space_size)]))
    writeFileSync(file, JSON.stringify({ sqlite, eventLoop, memoryAtExit }, null, 2))
  })
}

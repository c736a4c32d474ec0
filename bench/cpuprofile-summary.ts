/*
 * Summarises V8 .cpuprofile files (node --cpu-prof): where a process spent
 * its CPU, by function (self time), by package or source file (self time),
 * and the functions of our own code with the most inclusive time.
 *
 *   tsx bench/cpuprofile-summary.ts <file.cpuprofile>... [--top 25]
 */
import { readFileSync } from 'node:fs'
import { basename } from 'node:path'
import { pathToFileURL } from 'node:url'

interface CallFrame { functionName: string, url: string, lineNumber: number }
interface ProfileNode { id: number, callFrame: CallFrame, children?: number[] }
interface CpuProfile { nodes: ProfileNode[], startTime: number, endTime: number, samples: number[], timeDeltas: number[] }

export interface Row { name: string, where: string, ms: number, percentOfBusy: number }
export interface ProfileSummary {
  file: string
  /** Profile length and the part not idle, in ms. */
  totalMs: number
  busyMs: number
  topSelf: Row[]
  byGroup: Row[]
  /** Our own code (dist/): inclusive time, i.e. with everything it called. */
  topInclusiveOwn: Row[]
}

/** Our compiled code (dist/), not a package's own dist/ folder. */
const isOwn = (url: string): boolean => url.includes('/dist/') && !url.includes('/node_modules/')

/** Where a frame comes from: a package, node core, our code, or V8 itself. */
function groupOf (f: CallFrame): string {
  if (f.url === '') return f.functionName.startsWith('(') ? f.functionName : '(native)'
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f.url)
  if (pkg !== null) return pkg[1]!
  if (f.url.startsWith('node:')) return 'node core'
  const own = /\/dist\/(.+)$/.exec(f.url)
  if (own !== null) return `dist/${own[1]!}`
  return f.url
}

function whereOf (f: CallFrame): string {
  if (f.url === '') return ''
  const pkg = /node_modules\/(.+)$/.exec(f.url)
  const own = /\/dist\/(.+)$/.exec(f.url)
  return `${pkg?.[1] ?? (own !== null ? `dist/${own[1]!}` : f.url.replace(/^file:\/\//, ''))}:${f.lineNumber + 1}`
}

export function summarise (file: string, top = 25): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const byId = new Map<number, ProfileNode>()
  const parent = new Map<number, number>()
  for (const n of p.nodes) {
    byId.set(n.id, n)
    for (const c of n.children ?? []) parent.set(c, n.id)
  }
  // Sample i lasts until sample i+1 (DevTools' convention); the last gets the mean.
  const mean = (p.endTime - p.startTime) / Math.max(1, p.samples.length)
  const self = new Map<number, number>()
  for (let i = 0; i < p.samples.length; i++) {
    const dt = i + 1 < p.timeDeltas.length ? p.timeDeltas[i + 1]! : mean
    self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + dt / 1000)
  }
  const totalMs = (p.endTime - p.startTime) / 1000
  let idle = 0
  const fnSelf = new Map<string, { name: string, where: string, ms: number }>()
  const groupSelf = new Map<string, number>()
  const ownInclusive = new Map<string, { name: string, where: string, ms: number }>()
  for (const [id, ms] of self) {
    const f = byId.get(id)!.callFrame
    if (f.functionName === '(idle)') { idle += ms; continue }
    const key = `${f.functionName}@${f.url}:${f.lineNumber}`
    const row = fnSelf.get(key) ?? { name: f.functionName || '(anonymous)', where: whereOf(f), ms: 0 }
    row.ms += ms
    fnSelf.set(key, row)
    const g = groupOf(f)
    groupSelf.set(g, (groupSelf.get(g) ?? 0) + ms)
    // Inclusive: each of our own functions on this stack, once.
    const seen = new Set<string>()
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const cf = byId.get(n)!.callFrame
      if (!isOwn(cf.url)) continue
      const k = `${cf.functionName}@${cf.url}:${cf.lineNumber}`
      if (seen.has(k)) continue
      seen.add(k)
      const r = ownInclusive.get(k) ?? { name: cf.functionName || '(anonymous)', where: whereOf(cf), ms: 0 }
      r.ms += ms
      ownInclusive.set(k, r)
    }
  }
  const busyMs = totalMs - idle
  const rows = (list: Iterable<{ name: string, where: string, ms: number }>): Row[] =>
    [...list].sort((a, b) => b.ms - a.ms).slice(0, top).map((r) => ({ ...r, percentOfBusy: 100 * r.ms / busyMs }))
  return {
    file,
    totalMs,
    busyMs,
    topSelf: rows(fnSelf.values()),
    byGroup: rows([...groupSelf].map(([name, ms]) => ({ name, where: '', ms }))),
    topInclusiveOwn: rows(ownInclusive.values())
  }
}

export function formatSummary (s: ProfileSummary): string {
  const line = (r: Row): string => `  ${r.percentOfBusy.toFixed(1).padStart(5)}%  ${r.ms.toFixed(0).padStart(7)} ms  ${r.name}${r.where === '' ? '' : `  (${r.where})`}`
  return [
    `${basename(s.file)}: ${(s.totalMs / 1000).toFixed(1)} s profiled, main thread busy ${(s.busyMs / 1000).toFixed(1)} s (${(100 * s.busyMs / s.totalMs).toFixed(0)}%; busy = not idle in the event loop, including time blocked in synchronous calls such as SQLite's fsync)`,
    ' self time by package / file (% of busy time):',
    ...s.byGroup.map(line),
    ' top functions by self time:',
    ...s.topSelf.map(line),
    ' our code (dist/), inclusive time:',
    ...s.topInclusiveOwn.map(line)
  ].join('\n')
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2)
  const files: string[] = []
  let top = 25
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--top') top = Number(args[++i])
    else files.push(args[i]!)
  }
  if (files.length === 0) {
    console.error('usage: tsx bench/cpuprofile-summary.ts <file.cpuprofile>... [--top 25]')
    process.exit(2)
  }
  for (const f of files) console.log(`${formatSummary(summarise(f, top))}\n`)
}

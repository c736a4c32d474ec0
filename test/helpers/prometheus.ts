/*
 * A strict reader of the Prometheus text exposition format 0.0.4: every line
 * is a HELP, a TYPE, a comment, blank, or a sample of a family whose TYPE came
 * first; names, labels, escapes and values follow the format's grammar;
 * histograms have cumulative buckets ending in le="+Inf" equal to _count.
 * It throws on the first line that breaks a rule, naming it.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped'

export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

export interface Family {
  name: string
  type: MetricType
  help?: string
  samples: Sample[]
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*'
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*'
/* Values are read as Go's ParseFloat reads them (the format's rule): NaN and Inf in any case (prom-client writes `Nan`). */
const VALUE = '(?:[+-]?(?:\\d+\\.?\\d*(?:[eE][+-]?\\d+)?|\\.\\d+(?:[eE][+-]?\\d+)?)|[+-]?[Ii][Nn][Ff](?:[Ii][Nn][Ii][Tt][Yy])?|[Nn][Aa][Nn])'
const HELP_LINE = new RegExp(`^# HELP (${NAME}) (.*)$`)
const TYPE_LINE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`)
const SAMPLE_LINE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (${VALUE})(?: (-?\\d+))?$`)
const LABEL_PAIR = new RegExp(`^(${LABEL})="((?:[^"\\\\\\n]|\\\\[\\\\"n])*)"`)
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped'])

function parseValue (text: string): number {
  if (/^nan$/i.test(text)) return NaN
  if (/^\+?inf(inity)?$/i.test(text)) return Infinity
  if (/^-inf(inity)?$/i.test(text)) return -Infinity
  return Number(text)
}

function parseLabels (text: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {}
  let rest = text
  while (rest !== '') {
    const m = LABEL_PAIR.exec(rest)
    if (m === null) throw new Error(`${where}: bad label list {${text}}`)
    if (m[1]! in labels) throw new Error(`${where}: label ${m[1]} repeated`)
    labels[m[1]!] = m[2]!.replace(/\\(["\\n])/g, (_, c: string) => c === 'n' ? '\n' : c)
    rest = rest.slice(m[0].length)
    if (rest.startsWith(',')) rest = rest.slice(1)
    else if (rest !== '') throw new Error(`${where}: expected , between labels in {${text}}`)
  }
  return labels
}

/** The family a sample belongs to: `x_bucket` / `x_sum` / `x_count` belong to histogram (or summary) `x`. */
function familyOf (name: string, families: Map<string, Family>): Family | undefined {
  const direct = families.get(name)
  if (direct !== undefined) return direct
  const m = /^(.*)_(bucket|sum|count)$/.exec(name)
  const base = m === null ? undefined : families.get(m[1]!)
  if (base === undefined) return undefined
  if (base.type === 'histogram' || (base.type === 'summary' && m![2] !== 'bucket')) return base
  return undefined
}

export function parseExposition (text: string): Map<string, Family> {
  const families = new Map<string, Family>()
  if (text !== '' && !text.endsWith('\n')) throw new Error('exposition must end with a newline')
  const lines = text.split('\n')
  lines.pop()
  lines.forEach((line, i) => {
    const where = `line ${i + 1} "${line}"`
    if (line.trim() === '') return
    if (line.startsWith('# HELP ')) {
      const m = HELP_LINE.exec(line)
      if (m === null) throw new Error(`${where}: bad HELP`)
      const f = families.get(m[1]!)
      if (f?.help !== undefined) throw new Error(`${where}: second HELP for ${m[1]}`)
      if (f === undefined) families.set(m[1]!, { name: m[1]!, type: 'untyped', help: m[2], samples: [] })
      else f.help = m[2]
      return
    }
    if (line.startsWith('# TYPE ')) {
      const m = TYPE_LINE.exec(line)
      if (m === null || !TYPES.has(m[2]!)) throw new Error(`${where}: bad TYPE`)
      const f = families.get(m[1]!)
      if (f !== undefined && (f.samples.length > 0 || f.type !== 'untyped')) throw new Error(`${where}: TYPE after samples or repeated`)
      if (f === undefined) families.set(m[1]!, { name: m[1]!, type: m[2] as MetricType, samples: [] })
      else f.type = m[2] as MetricType
      return
    }
    if (line.startsWith('#')) return
    const m = SAMPLE_LINE.exec(line)
    if (m === null) throw new Error(`${where}: not a sample`)
    const family = familyOf(m[1]!, families)
    if (family === undefined) throw new Error(`${where}: sample of ${m[1]} before its TYPE`)
    family.samples.push({ name: m[1]!, labels: parseLabels(m[2] ?? '', where), value: parseValue(m[3]!) })
  })
  for (const f of families.values()) checkFamily(f)
  return families
}

function checkFamily (f: Family): void {
  if (f.type === 'counter') {
    for (const s of f.samples) if (!(s.value >= 0)) throw new Error(`counter ${s.name} is ${s.value}`)
  }
  if (f.type !== 'histogram') return
  const series = new Map<string, Sample[]>()
  for (const s of f.samples) {
    const { le, ...rest } = s.labels
    const key = JSON.stringify(Object.entries(rest).sort())
    if (s.name === `${f.name}_bucket` && le === undefined) throw new Error(`${s.name} without le`)
    series.set(key, [...(series.get(key) ?? []), s])
  }
  for (const [key, samples] of series) {
    const buckets = samples.filter((s) => s.name === `${f.name}_bucket`)
    const count = samples.find((s) => s.name === `${f.name}_count`)
    const sum = samples.find((s) => s.name === `${f.name}_sum`)
    if (count === undefined || sum === undefined || buckets.length === 0) throw new Error(`histogram ${f.name} ${key} lacks buckets, _sum or _count`)
    const ordered = buckets.map((b) => ({ le: parseValue(b.labels.le!), value: b.value })).sort((a, b) => a.le - b.le)
    ordered.forEach((b, i) => {
      if (i > 0 && b.value < ordered[i - 1]!.value) throw new Error(`histogram ${f.name} ${key}: buckets not cumulative`)
    })
    const inf = ordered[ordered.length - 1]!
    if (inf.le !== Infinity || inf.value !== count.value) throw new Error(`histogram ${f.name} ${key}: le="+Inf" must equal _count`)
  }
}

/** The value of the one sample named `name` whose labels include `labels`; the sum when several match, undefined when none. */
export function sampleValue (families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  const family = familyOf(name, families)
  const matching = (family?.samples ?? []).filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
  return matching.length === 0 ? undefined : matching.reduce((a, s) => a + s.value, 0)
}

export async function scrape (url: string): Promise<Map<string, Family>> {
  const res = await fetch(`${url}/metrics`)
  if (res.status !== 200) throw new Error(`${url}/metrics answered ${res.status}`)
  const type = res.headers.get('content-type') ?? ''
  if (!type.startsWith('text/plain') || !type.includes('version=0.0.4')) throw new Error(`${url}/metrics content-type ${type}`)
  return parseExposition(await res.text())
}

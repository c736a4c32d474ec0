/*
 * npm run chaos -- [--duration 60] [--seed N] [--users 30] [--concurrency 8]
 *   [--store sqlite|postgres] [--instances N] [--rabbitmq-nodes 1|3]
 *   [--kill-rate 0.3] [--drop-rate 0.1]
 *   [--pg-terminate-rate 0.1] [--pg-restart-rate 0.03] [--pg-crash-rate 0.03] [--rabbit-node-rate 0.05]
 * Starts the built system on free ports with a RabbitMQ node (or 3-node
 * cluster) of its own and, with --store postgres, a PostgreSQL server of its
 * own; runs the faults, prints the figures and exits non-zero if anything
 * was lost, doubled or broken. Every process it started dies with it.
 */
import { parseArgs } from 'node:util'
import { checkOptions, formatReport, healthy, runChaos, type ChaosOptions } from './run-chaos.js'

const OPTIONS = {
  help: { type: 'boolean' },
  duration: { type: 'string', default: '60' },
  store: { type: 'string', default: 'sqlite' },
  instances: { type: 'string', default: '1' },
  'rabbitmq-nodes': { type: 'string', default: '1' },
  'kill-rate': { type: 'string', default: '0.3' },
  'drop-rate': { type: 'string', default: '0.1' },
  'pg-terminate-rate': { type: 'string', default: '0.1' },
  'pg-restart-rate': { type: 'string', default: '0.03' },
  'pg-crash-rate': { type: 'string', default: '0.03' },
  'rabbit-node-rate': { type: 'string', default: '0.05' },
  seed: { type: 'string', default: String(Date.now() % 100000) },
  users: { type: 'string', default: '30' },
  concurrency: { type: 'string', default: '8' }
} as const

const USAGE = `npm run chaos -- [options]   (a negative value is an error; --name=value also works)
${Object.entries(OPTIONS).filter(([name]) => name !== 'help').map(([name, o]) => `  --${name} ${'default' in o ? o.default : ''}`).join('\n')}
Exit code: 0 all checks hold, 1 something was lost, doubled or broken, 2 bad options.`

const fail = (message: string): never => { console.error(`${message}\n(npm run chaos -- --help for the options)`); process.exit(2) }

const parsed = (() => {
  try {
    return parseArgs({ options: OPTIONS, strict: true, allowPositionals: false })
  } catch (err) {
    // node:util's own words (unknown option, missing value, a value that starts with -), without its stack.
    return fail((err as Error).message.split('\n')[0]!)
  }
})()
const { values } = parsed
if (values.help === true) {
  console.log(USAGE)
  process.exit(0)
}

const num = (name: Exclude<keyof typeof values, 'help'>): number => {
  const raw = values[name]
  const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN
  if (!Number.isFinite(n) || n < 0) fail(`--${name} must be a non-negative number, not ${JSON.stringify(raw)}`)
  return n
}
if (values.store !== 'sqlite' && values.store !== 'postgres') fail('--store must be sqlite or postgres')
const options: ChaosOptions = {
  durationMs: num('duration') * 1000,
  store: values.store as 'sqlite' | 'postgres',
  instances: num('instances'),
  rabbitmqNodes: num('rabbitmq-nodes') as 1 | 3,
  killRate: num('kill-rate'),
  dropRate: num('drop-rate'),
  pgTerminateRate: num('pg-terminate-rate'),
  pgRestartRate: num('pg-restart-rate'),
  pgCrashRate: num('pg-crash-rate'),
  rabbitNodeRate: num('rabbit-node-rate'),
  seed: Math.floor(num('seed')),
  users: Math.max(1, Math.floor(num('users'))),
  concurrency: Math.max(1, Math.floor(num('concurrency'))),
  log: (line) => console.log(`[${new Date().toISOString().slice(11, 23)}] ${line}`)
}
try { checkOptions(options) } catch (err) { fail((err as Error).message) }
const report = await runChaos(options)
console.log(`\n${formatReport(report)}\n`)
console.log(healthy(report) ? 'CHAOS OK: nothing lost, nothing doubled, every invariant holds' : 'CHAOS FAILED')
process.exit(healthy(report) ? 0 : 1)

/*
 * npm run chaos -- [--duration 60] [--kill-rate 0.3] [--drop-rate 0.1] [--seed N] [--users 30] [--concurrency 8]
 * Starts the built system on free ports with a RabbitMQ node of its own, runs
 * the faults, prints the figures and exits non-zero if anything was lost,
 * doubled or broken.
 */
import { parseArgs } from 'node:util'
import { formatReport, healthy, runChaos } from './run-chaos.js'

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '60' },
    'kill-rate': { type: 'string', default: '0.3' },
    'drop-rate': { type: 'string', default: '0.1' },
    seed: { type: 'string', default: String(Date.now() % 100000) },
    users: { type: 'string', default: '30' },
    concurrency: { type: 'string', default: '8' }
  }
})
const num = (name: keyof typeof values): number => {
  const n = Number(values[name])
  if (!Number.isFinite(n) || n < 0) { console.error(`--${name} must be a non-negative number`); process.exit(2) }
  return n
}
const report = await runChaos({
  durationMs: num('duration') * 1000,
  killRate: num('kill-rate'),
  dropRate: num('drop-rate'),
  seed: Math.floor(num('seed')),
  users: Math.max(1, Math.floor(num('users'))),
  concurrency: Math.max(1, Math.floor(num('concurrency'))),
  log: (line) => console.log(`[${new Date().toISOString().slice(11, 23)}] ${line}`)
})
console.log(`\n${formatReport(report)}\n`)
console.log(healthy(report) ? 'CHAOS OK: nothing lost, nothing doubled, every invariant holds' : 'CHAOS FAILED')
process.exit(healthy(report) ? 0 : 1)

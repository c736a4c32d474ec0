import t from 'tap'
import { formatReport, healthy, runChaos } from '../chaos/run-chaos.js'

// The short version of `npm run chaos`: a fixed seed, a few kills and drops.
t.test('a short chaos run loses nothing, doubles nothing, breaks no invariant', async (t) => {
  const report = await runChaos({ durationMs: 8000, killRate: 0.25, dropRate: 0.25, seed: 20261128, users: 10, concurrency: 6, log: (l) => t.comment(l), script: ['kill usuarios', 'drop', 'kill pagos', 'drop'] })
  t.comment(formatReport(report))
  t.ok(report.accepted > 0, 'payments were accepted')
  t.ok(report.kills >= 2 && report.drops >= 2, `faults happened (${report.kills} kills, ${report.drops} drops)`)
  t.equal(report.lost, 0, 'lost')
  t.equal(report.duplicated, 0, 'duplicated')
  t.same(report.violations, [], 'invariant violations')
  t.ok(healthy(report))
})

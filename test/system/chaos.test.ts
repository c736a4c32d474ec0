import t from 'tap'
import { formatReport, runChaos } from '../chaos/run-chaos.js'
import { assertNothingLostOrBroken } from '../helpers/chaos-verdict.js'

// The short version of `npm run chaos`: a fixed seed, a few kills and drops,
// and a gateway rate limit tight enough to be hit, so that the client's
// handling of a 429 (wait Retry-After, the same key again) is part of the run.
t.test('a short chaos run loses nothing, doubles nothing, breaks no invariant', async (t) => {
  const report = await runChaos({
    durationMs: 8000,
    killRate: 0.25,
    dropRate: 0.25,
    seed: 20261128,
    users: 10,
    concurrency: 6,
    log: (l) => t.comment(l),
    script: ['kill usuarios', 'drop', 'kill pagos', 'drop'],
    env: { RATE_LIMIT_MAX: '30', RATE_LIMIT_WINDOW_MS: '1000' }
  })
  t.comment(formatReport(report))
  t.ok(report.accepted > 0, 'payments were accepted')
  t.ok(report.kills >= 2 && report.drops >= 2, `faults happened (${report.kills} kills, ${report.drops} drops)`)
  t.ok(report.rateLimited > 0, `the rate limit answered 429 (${report.rateLimited} times), each waited out`)
  assertNothingLostOrBroken(t, report)
})

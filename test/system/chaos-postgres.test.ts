import t from 'tap'
import { postgresSkipped } from '../../lib/launch/postgres.js'
import { formatReport, runChaos } from '../chaos/run-chaos.js'
import { assertNothingLostOrBroken } from '../helpers/chaos-verdict.js'

// The short version of `npm run chaos -- --store postgres --instances 2`:
// 2 usuarios + 2 pagos + the gateway on a PostgreSQL server of the run's own,
// a fixed seed, and a script that makes every kind of fault happen at least
// once under load: kill -9 of an instance of each service (and of the
// gateway), pg_terminate_backend of the services' connections, a PostgreSQL
// restart and a crash (crash recovery), a broker drop.
t.test('chaos across instances on PostgreSQL loses nothing, doubles nothing, breaks no invariant', { skip: postgresSkipped }, async (t) => {
  const report = await runChaos({
    store: 'postgres',
    instances: 2,
    durationMs: 10_000,
    killRate: 0.1,
    dropRate: 0.1,
    pgTerminateRate: 0.1,
    seed: 20261130,
    users: 10,
    concurrency: 6,
    log: (l) => t.comment(l),
    script: ['kill usuarios', 'pg terminate', 'kill pagos', 'pg restart', 'drop', 'pg crash', 'kill gateway']
  })
  t.comment(formatReport(report))
  t.ok(report.accepted > 0, 'payments were accepted')
  const killed = Object.keys(report.killsByInstance)
  t.ok(killed.some((i) => i.startsWith('usuarios-')) && killed.some((i) => i.startsWith('pagos-')) && killed.includes('gateway'), `an instance of each service was killed (${killed.join(', ')})`)
  t.ok(report.pgTerminations >= 1 && report.pgRestarts >= 1 && report.pgCrashes >= 1 && report.drops >= 1,
    `every fault happened (${report.pgTerminations} terminate rounds, ${report.pgRestarts} restarts, ${report.pgCrashes} crashes, ${report.drops} drops)`)
  t.ok(report.unavailable > 0, `while PostgreSQL was away, requests answered 503 with Retry-After (${report.unavailable}), retried with the same key`)
  assertNothingLostOrBroken(t, report)
})

import t from 'tap'
import { postgresSkipped } from '../../lib/launch/postgres.js'
import { formatReport, runChaos } from '../chaos/run-chaos.js'
import { assertNothingLostOrBroken } from '../helpers/chaos-verdict.js'

// The short version of `npm run chaos -- --store postgres --instances 2
// --rabbitmq-nodes 3`: a 3-node RabbitMQ cluster of the run's own; one node
// is stopped (stop_app) and started again under load while instances are
// killed and connections dropped. The services hold the three nodes in
// AMQP_URL and move to another one; quorum queues keep their majority.
t.test('chaos with a 3-node RabbitMQ cluster, one node stopped and started: nothing lost or doubled', { skip: postgresSkipped }, async (t) => {
  const report = await runChaos({
    store: 'postgres',
    instances: 2,
    rabbitmqNodes: 3,
    durationMs: 10_000,
    killRate: 0.1,
    dropRate: 0.1,
    rabbitDownMs: 4000,
    seed: 20261201,
    users: 10,
    concurrency: 6,
    log: (l) => t.comment(l),
    script: ['rabbit node', 'kill usuarios', 'drop', 'kill pagos']
  })
  t.comment(formatReport(report))
  t.ok(report.accepted > 0, 'payments were accepted')
  t.ok(report.rabbitNodeStops >= 1 && report.rabbitNodeStarts === report.rabbitNodeStops, `a node was stopped and started (${report.rabbitNodeStops} / ${report.rabbitNodeStarts})`)
  assertNothingLostOrBroken(t, report)
})

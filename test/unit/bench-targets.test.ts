import t from 'tap'
import type { BenchResult } from '../../bench/report.js'
import { rabbitmqShare } from '../../bench/report.js'
import { checkTargets } from '../../bench/targets.js'

// The payments target of issue 16: completed/s at saturation ≥ 0.4 × (raw broker msg/s ÷ 2).
function result (completedPerSec: number, rawMsgPerSec: number): BenchResult {
  return {
    broker: { messagesPerSec: rawMsgPerSec },
    payments: { phases: [{ offeredRate: null, completedPerSecDuringLoad: completedPerSec }], ratioToBroker: completedPerSec / (rawMsgPerSec / 2) },
    memory: { endMb: {}, checkpoints: [], growth: null }
  } as unknown as BenchResult
}

const payments = (r: BenchResult) => checkTargets(r).find((c) => c.target.startsWith('completed/s'))!

t.test('the payments target is 0.4 × half the raw broker rate', async (t) => {
  t.match(payments(result(2_000, 10_000)), { target: 'completed/s ≥ 0.4 × (raw msg/s ÷ 2)', met: true, measured: /ratio 0\.40/, margin: /the target is 2000\/s; the compass, 0\.5, 2500\/s/ })
  t.match(payments(result(1_999, 10_000)), { met: false, margin: /needs 1\.0× the measured figure/ })
  t.match(payments({ memory: { endMb: {}, checkpoints: [], growth: null } } as unknown as BenchResult), { met: null, measured: 'needs the broker and payments phases' })
})

t.test('RabbitMQ\'s share of the CPU per payment counts every process', async (t) => {
  t.equal(rabbitmqShare({ bench: 0.05, usuarios: 0.2, pagos: 0.1, gateway: 0.15, rabbitmq: 0.2 }), 0.2 / 0.7)
  t.equal(rabbitmqShare({ usuarios: 0.2 }), undefined, 'no RabbitMQ figure')
})

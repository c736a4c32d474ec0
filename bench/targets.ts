import type { BenchResult, TargetCheck } from './report.js'

/** Issue 7's targets, with issue 16's for the gateway and the payments ratio, against this run's figures; null where the run did not measure it. */
export function checkTargets (r: BenchResult): TargetCheck[] {
  const out: TargetCheck[] = []
  /** Higher is better: measured ÷ required. */
  const atLeast = (ratio: number): string => ratio >= 1 ? `${(100 * (ratio - 1)).toFixed(0)}% above the target` : `needs ${(1 / ratio).toFixed(1)}× the measured figure`
  /** Lower is better: measured ÷ limit. */
  const atMost = (ratio: number): string => ratio <= 1 ? `${(100 * (1 - ratio)).toFixed(0)}% under the limit` : `${ratio.toFixed(ratio < 2 ? 2 : 1)}× the limit`
  const sat = r.payments?.phases.find((p) => p.offeredRate === null)
  if (sat !== undefined && r.broker !== undefined && r.payments?.ratioToBroker != null) {
    const ratio = r.payments.ratioToBroker
    out.push({
      target: 'completed/s ≥ 0.4 × (raw msg/s ÷ 2)',
      measured: `${Math.round(sat.completedPerSecDuringLoad)}/s vs raw ${Math.round(r.broker.messagesPerSec)} msg/s → ratio ${ratio.toFixed(2)}`,
      met: ratio >= 0.4,
      margin: `${atLeast(ratio / 0.4)} (the target is ${Math.round(0.2 * r.broker.messagesPerSec)}/s; the compass, 0.5, ${Math.round(0.25 * r.broker.messagesPerSec)}/s)`
    })
  } else out.push({ target: 'completed/s ≥ 0.4 × (raw msg/s ÷ 2)', measured: 'needs the broker and payments phases', met: null, margin: '' })
  if (r.http !== undefined) {
    const ratio = r.http.gatewayVsNodeHttpProxy
    out.push({ target: 'gateway req/s ≥ 1.0 × node-http-proxy', measured: `ratio ${ratio.toFixed(2)}`, met: ratio >= 1, margin: atLeast(ratio) })
  } else out.push({ target: 'gateway req/s ≥ 1.0 × node-http-proxy', measured: 'HTTP phase not run', met: null, margin: '' })
  if (r.http?.gatewayVsNginx != null && r.http.p99GatewayVsNginx != null) {
    out.push({ target: 'gateway req/s ≥ 0.6 × nginx', measured: `ratio ${r.http.gatewayVsNginx.toFixed(2)}`, met: r.http.gatewayVsNginx >= 0.6, margin: atLeast(r.http.gatewayVsNginx / 0.6) })
    out.push({ target: 'gateway p99 ≤ 1.5 × nginx p99', measured: `ratio ${r.http.p99GatewayVsNginx.toFixed(2)}`, met: r.http.p99GatewayVsNginx <= 1.5, margin: atMost(r.http.p99GatewayVsNginx / 1.5) })
  } else out.push({ target: 'gateway vs nginx (req/s ≥ 0.6×, p99 ≤ 1.5×)', measured: 'nginx row not measured', met: null, margin: '' })
  const rate = r.payments?.phases.filter((p) => p.offeredRate !== null).sort((a, b) => b.offeredRate! - a.offeredRate!)[0]
  if (rate !== undefined) {
    const offeredRate = rate.offeredRate!
    const reached = rate.acceptedPerSec >= 0.95 * offeredRate
    out.push({
      target: 'accept → completado p99 ≤ 50 ms at 500/s offered',
      measured: `p99 ${Math.round(rate.endToEndP99Ms)} ms at ${offeredRate}/s offered, ${Math.round(rate.acceptedPerSec)}/s accepted`,
      met: offeredRate < 500 ? null : reached && rate.endToEndP99Ms <= 50,
      margin: offeredRate < 500 ? 'run with a rate of 500 (--rates)' : `${atMost(rate.endToEndP99Ms / 50)}${reached ? '' : '; and the offered rate was not sustained'}`
    })
  } else out.push({ target: 'accept → completado p99 ≤ 50 ms at 500/s offered', measured: 'payments phase not run', met: null, margin: '' })
  const worst = Object.entries(r.memory.endMb).sort((a, b) => b[1] - a[1])[0]
  if (worst !== undefined) out.push({ target: 'RSS ≤ 150 MB per service at the end', measured: `highest ${worst[0]} ${Math.round(worst[1])} MB`, met: worst[1] <= 150, margin: atMost(worst[1] / 150) })
  const cps = r.memory.checkpoints
  const growth = r.memory.growth
  if (growth !== null && cps.length >= 2) {
    const [s, g] = Object.entries(growth.rssAfterGc).sort((a, b) => b[1] - a[1])[0]!
    const full = cps[0]!.payments <= 10_000 * 1.2 && cps.at(-1)!.payments >= 100_000
    out.push({
      target: 'RSS growth 10k → 100k payments ≤ 10%',
      measured: `highest ${s} ${g >= 0 ? '+' : ''}${(100 * g).toFixed(1)}% (RSS after a full GC) from ${cps[0]!.payments} to ${cps.at(-1)!.payments} payments`,
      met: full ? g <= 0.10 : null,
      margin: full ? (g <= 0.10 ? 'within' : `${(100 * (g - 0.10)).toFixed(1)} points over`) : 'run with --payments-100k for the 10k → 100k figure'
    })
  } else out.push({ target: 'RSS growth 10k → 100k payments ≤ 10%', measured: 'one checkpoint only', met: null, margin: 'run with --payments-100k' })
  return out
}

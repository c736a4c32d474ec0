import type { Test } from 'tap'
import { healthy, type ChaosReport } from '../chaos/run-chaos.js'

/**
 * The verdict every chaos test asserts, whatever its faults: every request
 * got its answer, a replayed key answered as the first time, nothing lost,
 * nothing doubled, no invariant broken, nothing dead-lettered.
 */
export function assertNothingLostOrBroken (t: Test, report: ChaosReport): void {
  t.equal(report.unknown, 0, 'every request got its answer')
  t.equal(report.replayMismatches, 0, 'a replayed key answered as the first time')
  t.equal(report.lost, 0, 'lost')
  t.equal(report.duplicated, 0, 'duplicated')
  t.same(report.violations, [], 'invariant violations')
  t.equal(report.deadLettered, 0, 'nothing dead-lettered')
  t.ok(healthy(report))
}

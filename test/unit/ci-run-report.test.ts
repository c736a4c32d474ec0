import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'

// .ci/run reads tap's log twice: its closing line for "N passed, M failed",
// and every "not ok" for the list printed just above it (CI shows only the
// tail of its output; a failure far up a 7,000-test log was lost once).
const run = promisify(execFile)
const ciRun = path.resolve('.ci/run')

/** A log as tap 21 writes it for one failed assertion in one file. */
const FAILED_LOG = `TAP version 14
# Subtest: test/unit/a.test.ts
    ok 1 - fine
    not ok 2 - the balance is kept
      ---
      compare: ===
      at:
        fileName: test/unit/a.test.ts
        lineNumber: 4
      source: |
        t.equal(saldo, 100, 'the balance is kept')
      --^
      diff: |
        --- expected
        +++ actual
        -100
        +90
      ...
    1..2
not ok 1 - test/unit/a.test.ts # time=47.8ms
  ---
  exitCode: 1
  ...
# { total: 2, pass: 1, fail: 1 }
`

async function report (log: string, mode: '--failures' | '--summary'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ci-run-'))
  try {
    await writeFile(path.join(dir, 'log'), log)
    const { stdout } = await run('bash', [ciRun, mode, path.join(dir, 'log')]).catch((e: { stdout: string }) => e)
    return stdout
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

t.test('a failed assertion is listed with its diagnostics, the quoted source left out', async (t) => {
  const out = await report(FAILED_LOG, '--failures')
  t.match(out, /^Failed \(from the log above\):\n {4}not ok 2 - the balance is kept\n/)
  t.match(out, /lineNumber: 4\n/)
  t.match(out, /-100\n +\+90\n/, 'the diff is kept')
  t.notMatch(out, /t\.equal\(saldo/, 'the source is not')
  t.match(out, /\nnot ok 1 - test\/unit\/a\.test\.ts # time=47\.8ms\n$/, 'the file, without its process details')
  t.notMatch(out, /exitCode/)
  t.equal(await report(FAILED_LOG, '--summary'), '1 passed, 1 failed\n')
})

t.test('a log with no failure lists nothing', async (t) => {
  const log = 'TAP version 14\nok 1 - test/unit/a.test.ts\n# { total: 1, pass: 1 }\n'
  t.equal(await report(log, '--failures'), '')
  t.equal(await report(log, '--summary'), '1 passed, 0 failed\n')
})

import globals from 'globals'
import neostandard from 'neostandard'

/*
 * neostandard: the style the code is written in (no semicolons, a space
 * before function parentheses), with typescript-eslint for the .ts files.
 * `npm run lint`; .ci/run runs it before the tests.
 */
export default [
  ...neostandard({
    ts: true,
    ignores: ['dist/**', 'node_modules/**', 'data/**', 'logs/**', 'run/**', 'bench/results/**', 'test/artifacts/**', '.tap/**']
  }),
  {
    rules: {
      // `void promise` marks a deliberate fire-and-forget (its errors are handled inside).
      'no-void': ['error', { allowAsStatement: true }],
      // Flags set by callbacks and timers (`stopped`, `ready`) end our polling loops; the rule cannot see them.
      'no-unmodified-loop-condition': 'off',
      // `let x; t.teardown(() => x?.close()); x = await start()`: the teardown is in place before the start.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }]
    }
  },
  {
    // prom-client's idiom: a gauge registers itself in its constructor and is read at scrape time.
    files: ['**/metrics.ts'],
    rules: { 'no-new': 'off' }
  },
  {
    files: ['gateway/public/**/*.js'],
    languageOptions: { globals: globals.browser }
  }
]

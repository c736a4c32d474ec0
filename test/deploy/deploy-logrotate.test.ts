import { execFile } from 'node:child_process'
import { readFileSync, writeFileSync, readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { createLogger } from '../../lib/process/logger.js'
import { waitFor } from '../helpers/poll.js'

const run = promisify(execFile)
const CONFIG = resolve(import.meta.dirname, '..', '..', 'deploy', 'logrotate', 'pagos')

t.test('the shipped logrotate config', async (t) => {
  const text = readFileSync(CONFIG, 'utf8')
  t.match(text, /^\/var\/log\/pagos\/\*\.log \{/m, 'covers every service log in /var/log/pagos')
  for (const directive of ['copytruncate', 'compress', 'missingok', 'notifempty', 'su pagos pagos']) {
    t.match(text, new RegExp(`^\\s+${directive}$`, 'm'), directive)
  }
  t.match(text, /^\s+rotate \d+$/m, 'keeps a bounded number of files')
  t.match(text, /^\s+maxsize \d+M$/m, 'and rotates a file that grows too fast')
})

t.test('copytruncate rotates a log file a running service keeps writing to', async (t) => {
  if (!await run('sh', ['-c', 'command -v logrotate']).then(() => true, () => false)) {
    t.skip('logrotate is not installed (.ci/run installs it)')
    return
  }
  const dir = t.testdir()
  const logDir = join(dir, 'logs')
  const { stdout: who } = await run('sh', ['-c', 'echo "$(id -un) $(id -gn)"'])
  const config = readFileSync(CONFIG, 'utf8').replace('/var/log/pagos', logDir).replace('su pagos pagos', `su ${who.trim()}`)
  writeFileSync(join(dir, 'logrotate.conf'), config)

  // The services' own logger: pino's file destination, opened once and kept open.
  const { logger, flush } = createLogger({ service: 'gateway', LOG_DIR: logDir, LOG_LEVEL: 'info', LOG_STDOUT: 'off' })
  const file = join(logDir, 'gateway.log')
  const written = async (marker: string) => await waitFor(`"${marker}" in the log`, () => {
    flush()
    return readFileSync(file, 'utf8').includes(marker)
  })
  for (let i = 0; i < 100; i++) logger.info({ i }, 'antes de rotar')
  await written('"i":99')

  await run('logrotate', ['-f', '-s', join(dir, 'state'), join(dir, 'logrotate.conf')])
  logger.info('después de rotar')
  await written('después de rotar')
  flush()

  const rotated = readFileSync(join(logDir, 'gateway.log.1'), 'utf8')
  t.equal(rotated.split('\n').filter((l) => l.includes('antes de rotar')).length, 100, 'the old lines are in gateway.log.1')
  const current = readFileSync(file)
  t.notOk(current.includes(0), 'the file kept open is written from its new start, without a hole of NUL bytes')
  const lines = current.toString().trim().split('\n')
  t.equal(lines.length, 1, 'gateway.log holds only what came after the rotation')
  t.match(JSON.parse(lines[0]!), { service: 'gateway', msg: 'después de rotar' })
  t.same(readdirSync(logDir).sort(), ['gateway.log', 'gateway.log.1'], 'the first rotated file is not compressed yet (delaycompress)')
})

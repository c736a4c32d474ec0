/* eslint-disable no-template-curly-in-string -- the shell snippets expand ${...} themselves */
import { execFile } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer as createHttpServer } from 'node:http'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'

/*
 * deploy/lib.sh's "install it if it is missing" decisions (npm start, npm test
 * and .ci/run use them), without installing or uninstalling anything on this
 * machine: each case runs the real functions in bash with a PATH that holds
 * only a few real tools and fakes of `id`, `sudo`, `apt-get`,
 * `rabbitmq-server` and `pg_ctlcluster`. The fakes write down how they were
 * called; "starting" a fake broker or cluster opens a TCP port of this test,
 * so the scripts' own "is it up?" polling sees a real listener.
 *
 * One seam: rabbitmq_installed also looks at /usr/sbin/rabbitmq-server, which
 * this machine has, so the cases redefine it to look at PATH only.
 */

const run = promisify(execFile)
const ROOT = resolve(import.meta.dirname, '..', '..')
const dir = mkdtempSync(join(tmpdir(), 'pagos-packages-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

// Real tools the functions need; everything else is missing on purpose.
const REAL = ['bash', 'env', 'mkdir', 'dirname', 'tail', 'cat', 'sed', 'find', 'sort', 'timeout', 'sleep', 'tr', 'touch', 'cp', 'chmod', 'printf', 'true', 'head']

/** A TCP port that listens only once `open()` is called (a broker or cluster that "starts"). */
async function lateListener (): Promise<{ port: number, open: () => void, server: Server }> {
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const port = (probe.address() as { port: number }).port
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  const server = createServer((s) => s.destroy())
  let opened = false
  return { port, server, open: () => { if (!opened) { opened = true; server.listen(port, '127.0.0.1') } } }
}

/** A server whose first connection calls `onConnect` (how a fake tells the test it ran). */
async function signal (onConnect: () => void): Promise<{ port: number, server: Server }> {
  const server = createServer((s) => { s.destroy(); onConnect() })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { port: (server.address() as { port: number }).port, server }
}

interface Case {
  /** What `id -u` says. */
  uid: number
  /** sudo works without a password ('ok'), wants one ('password': `-n` fails), or is not installed (false). */
  sudo: 'ok' | 'password' | false
  /** Commands present before the run (in the fake bin dir; `node` is the real one). */
  present?: string[]
  /** apt-get exits non-zero on `install`. */
  aptFails?: boolean
}

interface Outcome {
  code: number
  stdout: string
  stderr: string
  /** One line per apt-get call: its arguments. */
  apt: string[]
  /** One line per sudo call: its arguments. */
  sudo: string[]
  /** Calls of the fake rabbitmq-server and pg_ctlcluster. */
  services: string[]
  etc: string
}

let caseNo = 0
async function scenario (c: Case, script: string, env: Record<string, string> = {}): Promise<Outcome> {
  const base = join(dir, `case-${++caseNo}`)
  const bin = join(base, 'bin')
  const etc = join(base, 'etc-postgresql')
  mkdirSync(bin, { recursive: true })
  for (const tool of REAL) {
    const real = ['/usr/bin', '/bin'].map((d) => join(d, tool)).find((p) => existsSync(p))
    if (real !== undefined) symlinkSync(real, join(bin, tool))
  }
  const broker = await lateListener()
  const cluster = await lateListener()
  const brokerStarted = await signal(broker.open)
  const clusterStarted = await signal(cluster.open)
  const log = (name: string) => join(base, `${name}.calls`)
  const fake = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/bash\n${body}\n`)
    chmodSync(join(bin, name), 0o755)
  }
  const fakeRabbit = `printf '%s\\n' "rabbitmq-server $*" >> ${log('services')}\n[[ $1 == -detached ]] && exec 3<>/dev/tcp/127.0.0.1/${brokerStarted.port}\nexit 0`
  const fakePgCtl = `printf '%s\\n' "pg_ctlcluster $*" >> ${log('services')}\n[[ $* == *start* ]] && exec 3<>/dev/tcp/127.0.0.1/${clusterStarted.port}\nexit 0`
  fake('id', `[[ $1 == -u ]] && { echo ${c.uid}; exit 0; }\nexec /usr/bin/id "$@"`)
  if (c.sudo === 'ok') fake('sudo', `printf '%s\\n' "$*" >> ${log('sudo')}\n[[ $1 == -n ]] && shift\nexec "$@"`)
  if (c.sudo === 'password') fake('sudo', `printf '%s\\n' "$*" >> ${log('sudo')}\necho 'sudo: a password is required' >&2\nexit 1`)
  fake('apt-get', [
    `printf '%s\\n' "$*" >> ${log('apt')}`,
    '[[ $1 == install ]] || exit 0',
    c.aptFails === true ? 'echo "E: Unable to locate package $3"; exit 100' : '',
    'for p in "$@"; do case $p in',
    `  rabbitmq-server) cat > ${join(bin, 'rabbitmq-server')} <<'EOF'\n#!/bin/bash\n${fakeRabbit}\nEOF\n  chmod +x ${join(bin, 'rabbitmq-server')} ;;`,
    `  postgresql) cat > ${join(bin, 'pg_ctlcluster')} <<'EOF'\n#!/bin/bash\n${fakePgCtl}\nEOF\n  chmod +x ${join(bin, 'pg_ctlcluster')}`,
    `    mkdir -p ${join(etc, '15', 'main')}`,
    `    printf '%s\\n' 'local all postgres peer' 'host    all             all             127.0.0.1/32            scram-sha-256' 'host    all             all             ::1/128                 scram-sha-256' 'host    replication     all             127.0.0.1/32            scram-sha-256' > ${join(etc, '15', 'main', 'pg_hba.conf')} ;;`,
    `  python3|make|g++) printf '#!/bin/bash\\n' > ${bin}/$p; chmod +x ${bin}/$p ;;`,
    'esac; done',
    'echo "Setting up $*"'
  ].join('\n'))
  for (const name of c.present ?? []) {
    if (name === 'rabbitmq-server') fake(name, fakeRabbit)
    else if (name === 'pg_ctlcluster') fake(name, fakePgCtl)
    else if (name === 'node') symlinkSync(process.execPath, join(bin, 'node'))
    else fake(name, 'exit 0')
  }
  const prelude = `set -euo pipefail\ncd ${ROOT}\nsource deploy/lib.sh\nrabbitmq_installed() { command -v rabbitmq-server >/dev/null 2>&1; }\n`
  const result = await run(join(bin, 'bash'), ['-c', prelude + script], {
    env: {
      PATH: bin,
      // bash reads ~/.bashrc when its stdin is a socket (as Node's pipes are): a home of its own.
      HOME: base,
      LOG_DIR: join(base, 'logs'),
      POSTGRES_ETC: etc,
      AMQP_URL: `amqp://guest:guest@127.0.0.1:${broker.port}`,
      TEST_POSTGRES_URL: `postgres://postgres@127.0.0.1:${cluster.port}/postgres`,
      RABBITMQ_WAIT: '20',
      ...env
    },
    timeout: 60_000
  }).then(({ stdout, stderr }) => ({ code: 0, stdout, stderr }), (err: { code: number, stdout: string, stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }))
  for (const s of [broker.server, cluster.server, brokerStarted.server, clusterStarted.server]) s.close()
  const lines = (name: string) => existsSync(log(name)) ? readFileSync(log(name), 'utf8').split('\n').filter(Boolean) : []
  return { ...result, apt: lines('apt'), sudo: lines('sudo'), services: lines('services'), etc }
}

t.test('RabbitMQ missing, not root and no sudo: the one command, and nothing installed', async (t) => {
  const r = await scenario({ uid: 1000, sudo: false }, 'ensure_rabbitmq')
  t.equal(r.code, 1)
  t.equal(r.stderr, 'RabbitMQ is not installed: sudo apt-get install -y rabbitmq-server\n')
  t.same(r.apt, [])
})

t.test('RabbitMQ missing, sudo asks for a password: the same one command', async (t) => {
  const r = await scenario({ uid: 1000, sudo: 'password' }, 'ensure_rabbitmq')
  t.equal(r.code, 1)
  t.equal(r.stderr, 'RabbitMQ is not installed: sudo apt-get install -y rabbitmq-server\n')
  t.same(r.apt, [])
})

t.test('RabbitMQ missing, sudo -n works: installed through sudo, announced, started, up', async (t) => {
  const r = await scenario({ uid: 1000, sudo: 'ok' }, 'ensure_rabbitmq')
  t.equal(r.code, 0, r.stderr)
  t.same(r.apt, ['update', 'install -y rabbitmq-server'])
  t.ok(r.sudo.includes('-n env DEBIAN_FRONTEND=noninteractive apt-get install -y rabbitmq-server'), 'apt-get ran through sudo -n')
  t.match(r.stdout, /^Installing rabbitmq-server \(RabbitMQ, the message broker\): apt-get install -y rabbitmq-server \(output in .*apt-get\.log\)\.\.\.$/m)
  t.same(r.services, ['rabbitmq-server -detached'])
  t.match(r.stdout, /^RabbitMQ is up on 127\.0\.0\.1:\d+\.$/m)
})

t.test('RabbitMQ installed but down: started as before, nothing installed', async (t) => {
  const r = await scenario({ uid: 0, sudo: false, present: ['rabbitmq-server'] }, 'ensure_rabbitmq')
  t.equal(r.code, 0, r.stderr)
  t.same(r.apt, [])
  t.same(r.services, ['rabbitmq-server -detached'])
})

t.test('apt-get fails: an error naming the command, with its last lines, and a failure', async (t) => {
  const r = await scenario({ uid: 0, sudo: false, aptFails: true }, 'ensure_rabbitmq')
  t.equal(r.code, 1)
  t.match(r.stderr, /^ERROR: apt-get install -y rabbitmq-server failed; last lines of .*apt-get\.log:\nE: Unable to locate package rabbitmq-server$/m)
  t.same(r.services, [])
})

t.test('PostgreSQL missing as root: installed, local TCP logins trusted, started, up', async (t) => {
  const r = await scenario({ uid: 0, sudo: false }, 'ensure_postgres; echo "SKIP_POSTGRES=${SKIP_POSTGRES:-}"')
  t.equal(r.code, 0, r.stderr)
  t.same(r.apt, ['update', 'install -y postgresql'])
  t.match(r.stdout, /^Installing postgresql \(PostgreSQL, for the tests' PostgreSQL half\): apt-get install -y postgresql/m)
  t.match(r.stdout, /^PostgreSQL 15: local TCP logins \(127\.0\.0\.1, ::1\) without a password \(trust\)/m)
  t.same(readFileSync(join(r.etc, '15', 'main', 'pg_hba.conf'), 'utf8').split('\n'), [
    'local all postgres peer',
    'host    all             all             127.0.0.1/32            trust',
    'host    all             all             ::1/128                 trust',
    'host    replication     all             127.0.0.1/32            scram-sha-256',
    ''
  ], 'only the two local "all all" TCP lines change')
  t.same(r.services, ['pg_ctlcluster 15 main reload', 'pg_ctlcluster --skip-systemctl-redirect 15 main start'])
  t.match(r.stdout, /^PostgreSQL is up on 127\.0\.0\.1:\d+\.\nSKIP_POSTGRES=$/m)
})

t.test('PostgreSQL missing, not root and no sudo: one SKIP line and SKIP_POSTGRES=1 for the tests', async (t) => {
  const r = await scenario({ uid: 1000, sudo: false }, 'ensure_postgres; echo "SKIP_POSTGRES=${SKIP_POSTGRES:-}"')
  t.equal(r.code, 0, r.stderr)
  t.equal(r.stdout, 'SKIP PostgreSQL tests: PostgreSQL is not installed and this user may not install it (sudo apt-get install -y postgresql); running with SKIP_POSTGRES=1.\nSKIP_POSTGRES=1\n')
  t.same(r.apt, [])
})

t.test('build tools: installed when missing and allowed, a warning with the command otherwise, nothing when present', async (t) => {
  const root = await scenario({ uid: 0, sudo: false }, 'ensure_build_tools')
  t.equal(root.code, 0, root.stderr)
  t.same(root.apt, ['update', 'install -y python3 make g++'])
  t.match(root.stdout, /^Installing python3 make g\+\+ \(to compile better-sqlite3, a native module\)/m)

  const user = await scenario({ uid: 1000, sudo: false }, 'ensure_build_tools')
  t.equal(user.code, 0)
  t.equal(user.stderr, 'WARNING: python3 make g++ missing: npm ci fails if better-sqlite3 has to be compiled here: sudo apt-get install -y python3 make g++\n')
  t.same(user.apt, [])

  const some = await scenario({ uid: 0, sudo: false, present: ['python3', 'g++'] }, 'ensure_build_tools')
  t.same(some.apt, ['update', 'install -y make'], 'only what is missing')

  const all = await scenario({ uid: 0, sudo: false, present: ['python3', 'make', 'g++'] }, 'ensure_build_tools')
  t.same(all.apt, [])
  t.equal(all.stdout + all.stderr, '')
})

t.test('one apt-get update per run, however many installs', async (t) => {
  const r = await scenario({ uid: 0, sudo: false }, 'ensure_build_tools; ensure_rabbitmq; ensure_postgres')
  t.equal(r.code, 0, r.stderr)
  t.same(r.apt, ['update', 'install -y python3 make g++', 'install -y rabbitmq-server', 'install -y postgresql'])
})

t.test('without curl (a fresh box may lack it), the health checks use Node\'s fetch', async (t) => {
  const server = createHttpServer((req, res) => {
    const ok = req.url === '/health'
    res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ status: ok ? 'ok' : 'down' }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  // Node is put on the fake PATH; curl is not.
  const r = await scenario({ uid: 1000, sudo: false, present: ['node'] },
    `command -v curl || echo "no curl"; http_ok ${base}/health && echo up; http_ok ${base}/other || echo down; health_status ${base}/health; health_status ${base}/other; health_status http://127.0.0.1:1/x`)
  t.equal(r.code, 0, r.stderr)
  t.equal(r.stdout, 'no curl\nup\ndown\n200 ok\n503 down\n000 -\n')
})

// ensure_system_packages runs first in npm start / npm test: everything the
// system lacks in one apt-get, or one line with the whole command. Seam:
// deps_need_install says whether `npm ci` is due (here: this checkout's own
// node_modules would say no).
const npmCiDue = 'deps_need_install() { true; }\n'

t.test('npm start on a fresh box as root: RabbitMQ and the build tools in one announced install', async (t) => {
  const r = await scenario({ uid: 0, sudo: false }, npmCiDue + 'ensure_system_packages && ensure_rabbitmq')
  t.equal(r.code, 0, r.stderr)
  t.same(r.apt, ['update', 'install -y rabbitmq-server python3 make g++'])
  t.match(r.stdout, /^Installing rabbitmq-server python3 make g\+\+ \(RabbitMQ, the message broker; to compile better-sqlite3, a native module\): apt-get install -y rabbitmq-server python3 make g\+\+ \(output in .*\)\.\.\.$/m)
  t.match(r.stdout, /^RabbitMQ is up on /m)
})

t.test('npm start on a fresh box without root or sudo: one line with the whole command, nothing else done', async (t) => {
  const r = await scenario({ uid: 1000, sudo: false }, npmCiDue + 'ensure_system_packages; echo "not reached"')
  t.equal(r.code, 1)
  t.equal(r.stderr, 'RabbitMQ is not installed (and better-sqlite3 needs a compiler): sudo apt-get install -y rabbitmq-server python3 make g++\n')
  t.equal(r.stdout, '')
  t.same(r.apt, [])
})

t.test('without root, only the build tools missing: a warning, and npm start goes on', async (t) => {
  const r = await scenario({ uid: 1000, sudo: false, present: ['rabbitmq-server'] }, npmCiDue + 'ensure_system_packages; echo "went on"')
  t.equal(r.code, 0)
  t.equal(r.stderr, 'WARNING: python3 make g++ missing: npm ci fails if better-sqlite3 has to be compiled here: sudo apt-get install -y python3 make g++\n')
  t.equal(r.stdout, 'went on\n')
})

t.test('npm test on a fresh box as root: PostgreSQL joins the same install, and is trusted for local logins', async (t) => {
  const r = await scenario({ uid: 0, sudo: false }, npmCiDue + 'ensure_system_packages postgres && ensure_rabbitmq && ensure_postgres')
  t.equal(r.code, 0, r.stderr)
  t.same(r.apt, ['update', 'install -y rabbitmq-server python3 make g++ postgresql'])
  t.match(r.stdout, /^Installing rabbitmq-server python3 make g\+\+ postgresql \(RabbitMQ, the message broker; to compile better-sqlite3, a native module; PostgreSQL, for the tests' PostgreSQL half\)/m)
  t.match(readFileSync(join(r.etc, '15', 'main', 'pg_hba.conf'), 'utf8'), /127\.0\.0\.1\/32 +trust/)
  t.match(r.stdout, /^PostgreSQL is up on /m)
})

t.test('npm test without root: RabbitMQ present, PostgreSQL missing: no install, one SKIP line', async (t) => {
  const r = await scenario({ uid: 1000, sudo: false, present: ['rabbitmq-server', 'python3', 'make', 'g++'] }, npmCiDue + 'ensure_system_packages postgres && ensure_postgres; echo "SKIP_POSTGRES=${SKIP_POSTGRES:-}"')
  t.equal(r.code, 0, r.stderr)
  t.same(r.apt, [])
  t.match(r.stdout, /^SKIP PostgreSQL tests: .*\nSKIP_POSTGRES=1\n$/)
})

t.test('everything there and npm ci not due: nothing said, nothing run', async (t) => {
  const r = await scenario({ uid: 0, sudo: false, present: ['rabbitmq-server'] }, 'deps_need_install() { false; }\nensure_system_packages')
  t.equal(r.code, 0, r.stderr)
  t.equal(r.stdout + r.stderr, '')
  t.same(r.apt, [])
})

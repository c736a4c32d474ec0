import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'
import t from 'tap'
import { parseApiKeys } from '../../gateway/auth.js'
import { waitFor } from '../helpers/poll.js'
import { uniquePrefix } from '../../lib/launch/system.js'

/*
 * deploy/install.sh in its DESTDIR mode, into a fake root: real useradd (into
 * the fake root's /etc/passwd), real `systemctl --root` enable, real
 * `npm ci --omit=dev`, and (DESTDIR_RABBITMQ=1) a real RabbitMQ user on the
 * local broker, then the installed build is run with the files it wrote.
 */

// npm ci --omit=dev builds better-sqlite3 from source (about 90 s): more than tap's default per file.
t.setTimeout(900_000)

const run = promisify(execFile)
const ROOT = resolve(import.meta.dirname, '..', '..')
const NODE = realpathSync(process.execPath)

async function has (command: string): Promise<boolean> {
  return await run('sh', ['-c', `command -v ${command}`]).then(() => true, () => false)
}
const missing = (await Promise.all(['useradd', 'userdel', 'systemctl', 'rabbitmqctl', 'npm'].map(async (c) => await has(c) ? undefined : c))).filter(Boolean)
const skip = process.getuid?.() !== 0
  ? 'install.sh needs root (it chowns files to the service user)'
  : missing.length > 0 ? `missing commands: ${missing.join(', ')}` : !existsSync(join(ROOT, 'dist', 'gateway', 'server.js')) ? 'no build: run npm run build' : false

const dest = mkdtempSync(join(tmpdir(), 'pagos-install-'))
t.teardown(() => rmSync(dest, { recursive: true, force: true }))
const prefix = uniquePrefix('install')
const rabbitUser = `test-install-${process.pid}-${Date.now().toString(36)}`
const rabbitVhost = `${rabbitUser}-vhost`

/** The environment of an admin who typed `sudo deploy/install.sh`: nothing of this test run leaks in. */
function adminEnv (extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LANG: 'C.UTF-8',
    NODE,
    SKIP_BUILD: '1',
    DESTDIR_RABBITMQ: '1',
    AMQP_PREFIX: prefix,
    RABBITMQ_USER: rabbitUser,
    RABBITMQ_VHOST: rabbitVhost,
    ...extra
  }
}

async function script (name: string, args: string[], env = adminEnv()): Promise<{ code: number, output: string }> {
  return await run('bash', [join(ROOT, 'deploy', name), ...args], { cwd: ROOT, env, timeout: 600_000, maxBuffer: 32 * 1024 * 1024 }).then(
    ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
    (err: { code: number, stdout: string, stderr: string }) => ({ code: err.code, output: err.stdout + err.stderr }))
}

const at = (path: string) => join(dest, path)
const read = (path: string) => readFileSync(at(path), 'utf8')

/** KEY=VALUE lines of an env file. */
function envFile (path: string): Record<string, string> {
  return Object.fromEntries(read(path).split('\n').filter((l) => /^[A-Z_]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]))
}

/** Every file, folder and link under the fake root: mode, owner, content. */
function manifest (): Map<string, string> {
  const out = new Map<string, string>()
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name)
      const st = lstatSync(path)
      let what = ''
      if (st.isSymbolicLink()) what = `-> ${readlinkSync(path)}`
      else if (st.isFile()) what = createHash('sha256').update(readFileSync(path)).digest('hex')
      out.set(relative(dest, path), `${st.mode.toString(8)} ${st.uid}:${st.gid} ${what}`)
      if (st.isDirectory()) walk(path)
    }
  }
  walk(dest)
  return out
}

async function rabbit (what: 'users' | 'vhosts'): Promise<string[]> {
  const { stdout } = await run('rabbitmqctl', ['-s', `list_${what}`])
  return stdout.split('\n').map((l) => l.split('\t')[0]!).filter(Boolean)
}

t.test('deploy/install.sh into a fake root', { skip, timeout: 900_000 }, async (t) => {
  const hostPasswd = readFileSync('/etc/passwd', 'utf8')
  t.teardown(async () => {
    await run('rabbitmqctl', ['-q', 'delete_user', rabbitUser]).catch(() => {})
    await run('rabbitmqctl', ['-q', 'delete_vhost', rabbitVhost]).catch(() => {})
  })

  const first = await script('install.sh', ['--destdir', dest])
  t.equal(first.code, 0, 'the first run succeeds', { output: first.output })
  if (first.code !== 0) return
  t.equal(readFileSync('/etc/passwd', 'utf8'), hostPasswd, 'this machine\'s own users are untouched')
  const uid = Number(read('etc/passwd').match(/^pagos:x:(\d+):/m)?.[1])
  const gid = Number(read('etc/group').match(/^pagos:x:(\d+):/m)?.[1])

  t.test('a system user with no login', async (t) => {
    t.match(read('etc/passwd'), /^pagos:x:\d+:\d+:Pagos services:\/var\/lib\/pagos:\/(usr\/)?sbin\/nologin$/m)
    t.ok(uid > 0 && uid < 1000, `system uid ${uid}`)
    t.ok(gid > 0, 'with its own group')
  })

  t.test('the code in /opt/pagos, owned by root, with production deps only', async (t) => {
    for (const svc of ['usuarios', 'pagos', 'gateway']) t.ok(existsSync(at(`opt/pagos/dist/${svc}/server.js`)), `dist/${svc}/server.js`)
    for (const dep of ['fastify', 'better-sqlite3', 'rabbitmq-client', 'pino']) t.ok(existsSync(at(`opt/pagos/node_modules/${dep}/package.json`)), `${dep} installed`)
    for (const dev of ['tap', 'typescript', 'tsx']) t.notOk(existsSync(at(`opt/pagos/node_modules/${dev}`)), `no dev dependency ${dev}`)
    t.equal(lstatSync(at('opt/pagos/dist/gateway/server.js')).uid, 0, 'root owns the code: the services can\'t change it')
    t.ok(existsSync(at('opt/pagos/deploy/check_status.sh')))
    t.equal(read('opt/pagos/deploy/installed.env'), `PAGOS_CONFIG_DIR=/etc/pagos\nNODE=${NODE}\n`, 'where the settings are, and the node backup.sh and restore.sh run')
  })

  t.test('data and log folders belong to the service user', async (t) => {
    for (const dir of ['var/lib/pagos', 'var/lib/pagos/usuarios', 'var/lib/pagos/pagos', 'var/lib/pagos/backups', 'var/log/pagos']) {
      const st = lstatSync(at(dir))
      t.equal(`${st.uid}:${st.gid} ${(st.mode & 0o777).toString(8)}`, `${uid}:${gid} 750`, dir)
    }
  })

  t.test('env files: 0640 root:pagos, generated secrets, production settings', async (t) => {
    const dir = lstatSync(at('etc/pagos'))
    t.equal(`${dir.uid}:${dir.gid} ${(dir.mode & 0o777).toString(8)}`, `0:${gid} 750`)
    for (const name of ['common', 'usuarios', 'pagos', 'gateway']) {
      const st = lstatSync(at(`etc/pagos/${name}.env`))
      t.equal(`${st.uid}:${st.gid} ${(st.mode & 0o777).toString(8)}`, `0:${gid} 640`, `${name}.env`)
    }
    const common = envFile('etc/pagos/common.env')
    t.match(common, { NODE_ENV: 'production', HOST: '127.0.0.1', LOG_STDOUT: 'json', LOG_DIR: '/var/log/pagos', AMQP_PREFIX: prefix, SHUTDOWN_TIMEOUT_MS: '10000' })
    const gateway = envFile('etc/pagos/gateway.env')
    t.equal(gateway.GATEWAY_HOST, '0.0.0.0')
    const keys = parseApiKeys(gateway.GATEWAY_API_KEYS)
    t.equal(keys.length, 1, 'one API key')
    t.ok(keys[0]!.length >= 40, 'of 32 random bytes')
    t.match(gateway, { RATE_LIMIT_MAX: /^\d+$/, RATE_LIMIT_WINDOW_MS: /^\d+$/ })
    const usuarios = envFile('etc/pagos/usuarios.env')
    const pagos = envFile('etc/pagos/pagos.env')
    t.equal(usuarios.AMQP_URL, pagos.AMQP_URL)
    const amqp = new URL(usuarios.AMQP_URL!)
    t.equal(amqp.username, rabbitUser, 'a RabbitMQ user of its own, not guest')
    t.equal(amqp.pathname, `/${rabbitVhost}`, 'on a virtual host of its own')
    t.ok(amqp.password.length >= 30, 'with a generated password')
    t.equal(usuarios.DATA_DIR, '/var/lib/pagos/usuarios')
    t.equal(pagos.DATA_DIR, '/var/lib/pagos/pagos')
    t.notOk('AMQP_URL' in gateway || 'AMQP_URL' in common, 'the gateway never sees the broker credentials')
  })

  t.test('units and logrotate installed, enabled under the fake root', async (t) => {
    for (const svc of ['usuarios', 'pagos', 'gateway']) {
      const unit = read(`etc/systemd/system/pagos-${svc}.service`)
      t.match(unit, new RegExp(`^ExecStart=${NODE} --max-semi-space-size=${svc === 'gateway' ? 16 : 8} /opt/pagos/dist/${svc}/server\\.js$`, 'm'), `pagos-${svc}.service runs this node`)
      t.equal(readlinkSync(at(`etc/systemd/system/pagos.target.wants/pagos-${svc}.service`)), `/etc/systemd/system/pagos-${svc}.service`)
    }
    t.equal(readlinkSync(at('etc/systemd/system/multi-user.target.wants/pagos.target')), '/etc/systemd/system/pagos.target', 'started at boot')
    t.equal(read('etc/logrotate.d/pagos'), readFileSync(join(ROOT, 'deploy/logrotate/pagos'), 'utf8'))
    t.match(first.output, /skipped \(DESTDIR mode\): systemctl daemon-reload; systemctl restart pagos\.target/)
  })

  t.test('the daily backup: its units, the timer enabled, backup.env', async (t) => {
    const unit = read('etc/systemd/system/pagos-backup.service')
    t.match(unit, /^ExecStart=\/opt\/pagos\/deploy\/backup\.sh$/m)
    t.match(unit, new RegExp(`^Environment=NODE=${NODE}$`, 'm'), 'with this node')
    t.match(unit, /^User=pagos$/m, 'as the service user')
    t.match(unit, /^ReadWritePaths=\/var\/lib\/pagos\/usuarios \/var\/lib\/pagos\/pagos \/var\/lib\/pagos\/backups$/m)
    t.match(read('etc/systemd/system/pagos-backup.timer'), /^Persistent=true$/m)
    t.equal(readlinkSync(at('etc/systemd/system/timers.target.wants/pagos-backup.timer')), '/etc/systemd/system/pagos-backup.timer', 'the timer is enabled')
    t.match(envFile('etc/pagos/backup.env'), { BACKUP_DIR: '/var/lib/pagos/backups', BACKUP_KEEP: '14' })
    const st = lstatSync(at('etc/pagos/backup.env'))
    t.equal(`${st.uid}:${st.gid} ${(st.mode & 0o777).toString(8)}`, `0:${gid} 640`)
    t.ok(lstatSync(at('opt/pagos/deploy/backup.sh')).mode & 0o100 && lstatSync(at('opt/pagos/deploy/restore.sh')).mode & 0o100, 'backup.sh and restore.sh installed, executable')
  })

  // What install.sh copies from the source tree is replaced on every run (an upgrade).
  const fromSource = /^opt\/pagos\/(dist|deploy|README\.md|package(-lock)?\.json)(\/|$)/
  const settled = () => new Map([...manifest()].filter(([path]) => !fromSource.test(path)))

  t.test('a second run changes nothing it should not, keeps data, and upgrades the code in place', async (t) => {
    const before = settled()
    const apiKey = envFile('etc/pagos/gateway.env').GATEWAY_API_KEYS
    writeFileSync(at('var/lib/pagos/usuarios/usuarios.sqlite'), 'datos que no se tocan')
    writeFileSync(at('opt/pagos/dist/viejo.js'), 'a file of an older build')
    const second = await script('install.sh', ['--destdir', dest])
    t.equal(second.code, 0, 'the second run succeeds', { output: second.output })
    for (const name of ['common', 'usuarios', 'pagos', 'gateway']) t.match(second.output, `${name}.env kept`)
    t.match(second.output, /production npm deps unchanged/)
    t.match(second.output, /System user pagos\n {4}exists/)
    t.notMatch(second.output, /installed$/m, 'no unit or config file rewritten')
    const after = settled()
    after.delete('var/lib/pagos/usuarios/usuarios.sqlite')
    t.same([...after.entries()], [...before.entries()], 'every file, mode and owner as it was: user, settings, units, npm deps')
    t.notOk(existsSync(at('opt/pagos/dist/viejo.js')), 'the build is replaced whole: no stale file')
    t.ok(existsSync(at('opt/pagos/dist/gateway/server.js')))
    t.equal(read('var/lib/pagos/usuarios/usuarios.sqlite'), 'datos que no se tocan', 'data kept')
    t.equal(envFile('etc/pagos/gateway.env').GATEWAY_API_KEYS, apiKey, 'same API key')
    t.equal((read('etc/passwd').match(/^pagos:/mg) ?? []).length, 1, 'one user')
    rmSync(at('var/lib/pagos/usuarios/usuarios.sqlite'))
  })

  t.test('the installed build runs with the files install.sh wrote', async (t) => {
    const common = envFile('etc/pagos/common.env')
    const children: ChildProcess[] = []
    t.teardown(async () => {
      await Promise.all(children.map(async (c) => {
        if (c.exitCode === null && c.signalCode === null) {
          c.kill('SIGKILL')
          await new Promise((resolve) => c.once('exit', resolve))
        }
      }))
    })
    const start = async (svc: string, extra: Record<string, string>): Promise<{ port: number, child: ChildProcess }> => {
      const own = envFile(`etc/pagos/${svc}.env`)
      const child = spawn(NODE, [at(`opt/pagos/dist/${svc}/server.js`)], {
        cwd: at('opt/pagos'),
        // Paths inside the fake root; ports chosen by the system.
        env: { PATH: process.env.PATH, ...common, ...own, LOG_DIR: at('var/log/pagos'), ...(own.DATA_DIR === undefined ? {} : { DATA_DIR: at(own.DATA_DIR) }), ...extra },
        stdio: ['ignore', 'pipe', 'inherit']
      })
      children.push(child)
      for await (const line of createInterface({ input: child.stdout! })) {
        const entry = JSON.parse(line)
        if (entry.msg === 'ready') { child.stdout!.resume(); return { port: entry.port, child } }
      }
      throw new Error(`${svc} exited before it was ready`)
    }
    const usuarios = await start('usuarios', { USUARIOS_PORT: '0' })
    const pagos = await start('pagos', { PAGOS_PORT: '0' })
    const gateway = await start('gateway', { GATEWAY_PORT: '0', GATEWAY_HOST: '127.0.0.1', USUARIOS_URL: `http://127.0.0.1:${usuarios.port}`, PAGOS_URL: `http://127.0.0.1:${pagos.port}` })
    const gw = `http://127.0.0.1:${gateway.port}`
    const key = envFile('etc/pagos/gateway.env').GATEWAY_API_KEYS!
    const auth = { authorization: `Bearer ${key}` }

    await waitFor('both services connected to RabbitMQ with the generated user', async () => (await fetch(`${gw}/health`)).status === 200, { timeoutMs: 30_000 })
    t.equal((await fetch(`${gw}/usuarios/1`)).status, 401, 'no key: 401')
    const willis = await fetch(`${gw}/usuarios/1`, { headers: auth })
    t.match(await willis.json(), { id: 1, nombre: 'Willis', saldo: 500 }, 'the generated key opens it')
    const paid = await fetch(`${gw}/usuarios/1/pagar`, { method: 'POST', headers: auth })
    t.equal(paid.status, 202)
    const { pago } = await paid.json() as { pago: { id: string } }
    await waitFor('the payment to complete through RabbitMQ', async () => {
      const res = await fetch(`${gw}/usuarios/1/pagos/${pago.id}`, { headers: auth })
      return (await res.json() as { estado: string }).estado === 'completado'
    }, { timeoutMs: 30_000 })
    t.pass('a payment went usuarios → RabbitMQ → pagos → usuarios with the generated RabbitMQ user and vhost')

    // The installed backup.sh, with its production deps, while the services run (paths inside the fake root).
    const backup = await run('bash', [at('opt/pagos/deploy/backup.sh')], {
      env: {
        PATH: process.env.PATH,
        NODE,
        PAGOS_CONFIG_DIR: at('etc/pagos'),
        USUARIOS_DB_FILE: at('var/lib/pagos/usuarios/usuarios.sqlite'),
        PAGOS_DB_FILE: at('var/lib/pagos/pagos/pagos.sqlite'),
        BACKUP_DIR: at('var/lib/pagos/backups')
      }
    }).then(({ stdout }) => ({ code: 0, stdout }), (err: { code: number, stdout: string, stderr: string }) => ({ code: err.code, stdout: err.stdout + err.stderr }))
    t.equal(backup.code, 0, 'the installed backup.sh takes a snapshot', { output: backup.stdout })
    const snapshot = backup.stdout.trim().split('\n').at(-1)!
    t.match(snapshot, new RegExp(`^${at('var/lib/pagos/backups')}/\\d{8}T\\d{6}Z$`), `named with a UTC timestamp: ${snapshot}`)
    t.same(readdirSync(snapshot).sort(), ['manifest.json', 'pagos.sqlite', 'usuarios.sqlite'])

    // The installed check_status.sh, with these settings but the ports of this run.
    const config = join(dest, 'tmp-config')
    mkdirSync(config)
    writeFileSync(join(config, 'common.env'), `${read('etc/pagos/common.env')}\nUSUARIOS_PORT=${usuarios.port}\nPAGOS_PORT=${pagos.port}\nGATEWAY_PORT=${gateway.port}\n`)
    writeFileSync(join(config, 'usuarios.env'), read('etc/pagos/usuarios.env'))
    const status = await run('bash', [at('opt/pagos/deploy/check_status.sh')], { env: { PATH: process.env.PATH, PAGOS_CONFIG_DIR: config } }).then(
      ({ stdout }) => ({ code: 0, stdout }), (err: { code: number, stdout: string }) => ({ code: err.code, stdout: err.stdout }))
    rmSync(config, { recursive: true })
    t.equal(status.code, 0, 'check_status.sh: all up', { output: status.stdout })
    t.match(status.stdout, new RegExp(`QUEUE \\(${prefix.replaceAll('.', '\\.')}\\.\\* in vhost ${rabbitVhost}\\)`), 'it reads the queues of the installed vhost')
    t.match(status.stdout, new RegExp(`^  ${prefix.replaceAll('.', '\\.')}\\.pagos\\.pago\\.solicitado +0`, 'm'))
    t.notOk(status.stdout.includes(new URL(envFile('etc/pagos/usuarios.env').AMQP_URL!).password), 'and never prints the password')

    for (const c of [gateway.child, usuarios.child, pagos.child]) {
      const exited = new Promise<number | null>((resolve) => c.once('exit', resolve))
      c.kill('SIGTERM')
      t.equal(await exited, 0, 'stops cleanly on SIGTERM')
    }
    const logs = readdirSync(at('var/log/pagos')).map((f) => read(`var/log/pagos/${f}`)).join('\n')
    t.match(logs, /"msg":"ready"/, 'the services logged to LOG_DIR')
    t.notOk(logs.includes(key), 'the API key is in no log')
    t.notOk(logs.includes(new URL(envFile('etc/pagos/usuarios.env').AMQP_URL!).password), 'the RabbitMQ password is in no log')
  })

  t.test('uninstall.sh removes units and code, keeps data, settings and the user', async (t) => {
    writeFileSync(at('var/lib/pagos/pagos/pagos.sqlite'), 'datos')
    const res = await script('uninstall.sh', ['--destdir', dest])
    t.equal(res.code, 0, 'succeeds', { output: res.output })
    for (const gone of ['opt/pagos', 'etc/systemd/system/pagos-gateway.service', 'etc/systemd/system/pagos.target', 'etc/systemd/system/multi-user.target.wants/pagos.target', 'etc/systemd/system/pagos.target.wants', 'etc/logrotate.d/pagos',
      'etc/systemd/system/pagos-backup.service', 'etc/systemd/system/pagos-backup.timer', 'etc/systemd/system/timers.target.wants/pagos-backup.timer']) {
      t.notOk(existsSync(at(gone)), `${gone} removed`)
    }
    t.equal(read('var/lib/pagos/pagos/pagos.sqlite'), 'datos', 'data kept')
    t.ok(existsSync(at('var/lib/pagos/backups')), 'backups kept')
    t.ok(existsSync(at('etc/pagos/gateway.env')), 'settings kept')
    t.ok(existsSync(at('var/log/pagos/gateway.log')), 'logs kept')
    t.match(read('etc/passwd'), /^pagos:/m, 'user kept')
    t.ok((await rabbit('users')).includes(rabbitUser), 'RabbitMQ user kept')
    t.ok((await rabbit('vhosts')).includes(rabbitVhost), 'and its vhost')
  })

  t.test('uninstall.sh --purge removes everything, the RabbitMQ user and vhost too', async (t) => {
    const res = await script('uninstall.sh', ['--destdir', dest, '--purge'])
    t.equal(res.code, 0, 'succeeds', { output: res.output })
    for (const gone of ['etc/pagos', 'var/lib/pagos', 'var/log/pagos']) t.notOk(existsSync(at(gone)), `${gone} removed`)
    t.notMatch(read('etc/passwd'), /^pagos:/m, 'user removed')
    t.notOk((await rabbit('users')).includes(rabbitUser), 'RabbitMQ user removed')
    t.notOk((await rabbit('vhosts')).includes(rabbitVhost), 'its vhost removed, with the queues')
    t.equal(readFileSync('/etc/passwd', 'utf8'), hostPasswd, 'this machine\'s own users still untouched')
  })
})

t.test('install.sh refuses what it cannot do, with a message', async (t) => {
  const bad = await script('install.sh', ['--destdir', join(t.testdir(), 'root')], adminEnv({ AMQP_PREFIX: 'con espacio' }))
  t.not(bad.code, 0)
  t.match(bad.output, /AMQP_PREFIX must match/)
  const unknown = await script('install.sh', ['--nada'])
  t.equal(unknown.code, 2)
  t.match(unknown.output, /unknown option --nada/)
  const help = await script('install.sh', ['--help'])
  t.equal(help.code, 0)
  t.match(help.output, /--destdir DIR/)
})

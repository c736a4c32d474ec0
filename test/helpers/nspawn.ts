/**
 * A real Debian 12 booted with systemd as PID 1, in a systemd-nspawn container
 * with its own network namespace: for tests of what runs under systemd
 * (deploy/install.sh, the units, reboots).
 *
 * Usage (root, debootstrap and systemd-nspawn installed; see `nspawnUnavailable`):
 *
 *   const why = await nspawnUnavailable()
 *   if (why !== false) { t.skip(why); return }
 *   const root = await prepareRoot({ packages: ['rabbitmq-server', 'logrotate'] }) // cached tarball, else debootstrap
 *   const box = await createContainer({ root, label: 'quick' })   // owns `root` from now on
 *   t.teardown(() => box.destroy())                                // ALWAYS: kills it, removes root, frees the subnet
 *   copyHostNode(box.root)                                         // /usr/bin/node, npm, Node's headers
 *   await box.boot()                                               // resolves once `systemctl is-system-running` is running/degraded
 *   const r = await box.exec(['systemctl', 'is-active', 'rabbitmq-server'])  // { code, stdout, stderr }, never throws on exit code
 *   await fetch(`http://${box.ip}:5002/health`)                    // the host reaches the container over the veth
 *   await box.poweroff(); await box.boot()                         // a real reboot: same root, same name, same address
 *
 * Files are put in and read from the container through `box.root` (a plain
 * folder on the host: `join(box.root, 'etc/pagos/gateway.env')`). The
 * container has no route to the Internet; give it npm packages with
 * `fillNpmCache` on the host and `binds: [{ host: cache, container: NPM_CACHE_IN_CONTAINER }]`
 * plus `OFFLINE_NPM_ENV` in `exec`'s env.
 *
 * Cleanup: `destroy()` kills the container (its PID 1, which ends its PID
 * namespace; its network namespace and veth go with it), waits for nspawn to
 * exit, and removes the root folder. Every mount is made by nspawn inside the
 * container's own mount namespace, so none is left on the host. A process that
 * dies without running its teardown (a signal, a crash) still does this
 * synchronously from `process.on('exit')` and signal handlers.
 *
 * Seen working on a host whose PID 1 is not systemd and that has no D-Bus
 * (hence `--register=no --keep-unit`); `machinectl` is not used.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { waitFor } from './poll.js'

const run = promisify(execFile)

/** Where base systems (tarballs) and the npm cache are kept between runs; PAGOS_TEST_CACHE overrides. */
export const CACHE_DIR = process.env.PAGOS_TEST_CACHE ?? '/var/cache/pagos-test'
/** Where container roots live while a test runs (removed by destroy()). */
const WORK_DIR = '/var/tmp/pagos-nspawn'
/** One lock folder per /30 subnet 10.77.N.0 in use on this host, holding its owner's pid. */
const SUBNET_LOCKS = '/run/pagos-nspawn/subnets'

/** Packages every base system gets: systemd as PID 1 and what a shell test needs. */
export const BASE_PACKAGES = ['systemd', 'systemd-sysv', 'dbus', 'ca-certificates', 'iproute2', 'curl', 'procps']
/** What `npm ci` needs to compile better-sqlite3 from source. */
export const BUILD_PACKAGES = ['python3', 'make', 'g++']

/** Where `fillNpmCache`'s folder is mounted inside, with `OFFLINE_NPM_ENV`. */
export const NPM_CACHE_IN_CONTAINER = '/var/cache/pagos-npm'
/**
 * Environment for npm inside the container: packages only from the cache
 * mounted at NPM_CACHE_IN_CONTAINER, Node's headers from /usr/include/node
 * (copyHostNode) so node-gyp downloads nothing.
 */
export const OFFLINE_NPM_ENV: Record<string, string> = {
  npm_config_cache: NPM_CACHE_IN_CONTAINER,
  npm_config_offline: 'true',
  npm_config_nodedir: '/usr',
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_update_notifier: 'false'
}

/** PATH inside the container for exec (Debian's default for root). */
export const CONTAINER_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

/**
 * Compiles inside through ccache, kept on the host between runs: add 'ccache'
 * to prepareRoot's packages, bind CCACHE_HOST_DIR (create it first) at
 * CCACHE_IN_CONTAINER, and pass CCACHE_ENV to exec. Every `npm ci` then
 * compiles better-sqlite3 in seconds after the first one (cc and c++ are
 * ccache's wrappers in /usr/lib/ccache; the build folder is not hashed, so
 * the same package built under another path hits the cache).
 */
export const CCACHE_HOST_DIR = join(CACHE_DIR, 'ccache')
export const CCACHE_IN_CONTAINER = '/var/cache/pagos-ccache'
export const CCACHE_ENV: Record<string, string> = {
  PATH: `/usr/lib/ccache:${CONTAINER_PATH}`,
  CCACHE_DIR: CCACHE_IN_CONTAINER,
  CCACHE_NOHASHDIR: '1',
  CCACHE_MAXSIZE: '1G'
}

export interface ExecResult {
  code: number
  stdout: string
  stderr: string
}

async function has (command: string): Promise<boolean> {
  return await run('sh', ['-c', `command -v ${command}`]).then(() => true, () => false)
}

/**
 * Why a container can't be booted here (a one-line reason for t.skip), or
 * false when it can: needs root, debootstrap, systemd-nspawn, nsenter, ip, tar, zstd.
 */
export async function nspawnUnavailable (): Promise<string | false> {
  if (process.platform !== 'linux') return 'systemd-nspawn needs Linux'
  if (process.getuid?.() !== 0) return 'booting a systemd container needs root'
  const missing: string[] = []
  for (const c of ['debootstrap', 'systemd-nspawn', 'nsenter', 'ip', 'tar', 'zstd']) {
    if (!await has(c)) missing.push(c)
  }
  return missing.length > 0 ? `missing ${missing.join(', ')} (apt-get install --no-install-recommends debootstrap systemd-container zstd)` : false
}

/** The Debian mirror: DEBIAN_MIRROR, else this machine's apt source for Debian, else deb.debian.org. */
export function debianMirror (): string {
  if (process.env.DEBIAN_MIRROR !== undefined) return process.env.DEBIAN_MIRROR
  try {
    const sources = readFileSync('/etc/apt/sources.list.d/debian.sources', 'utf8')
    const uri = /^URIs:\s*(\S+)/m.exec(sources)?.[1]
    if (uri !== undefined && !uri.includes('security')) return uri
  } catch {}
  try {
    const list = readFileSync('/etc/apt/sources.list', 'utf8')
    const uri = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s/m.exec(list)?.[1]
    if (uri !== undefined) return uri
  } catch {}
  return 'http://deb.debian.org/debian'
}

export interface RootOptions {
  /** Extra Debian packages (debootstrap --include), added to BASE_PACKAGES. */
  packages?: string[]
  /** Debian suite; default bookworm (Debian 12). */
  suite?: string
  /** Called with progress lines (e.g. t.comment). */
  log?: (line: string) => void
}

/**
 * A fresh root folder of Debian (minbase + BASE_PACKAGES + packages), under
 * /var/tmp/pagos-nspawn. From CACHE_DIR/rootfs-SUITE-KEY.tar.zst when present
 * (KEY: a hash of suite, mirror and package list; a few seconds), else by
 * debootstrap (50–120 s, needs the mirror), which then stores that tarball.
 * Returns the folder's path; pass it to createContainer, which owns it.
 * Throws with debootstrap's last output when it fails.
 */
export async function prepareRoot (opts: RootOptions = {}): Promise<string> {
  const suite = opts.suite ?? 'bookworm'
  const mirror = debianMirror()
  const include = [...new Set([...BASE_PACKAGES, ...(opts.packages ?? [])])].sort()
  const key = createHash('sha256').update(JSON.stringify({ v: 1, suite, mirror, include })).digest('hex').slice(0, 16)
  const tarball = join(CACHE_DIR, `rootfs-${suite}-${key}.tar.zst`)
  mkdirSync(WORK_DIR, { recursive: true })
  mkdirSync(CACHE_DIR, { recursive: true })
  const root = mkdtempSync(join(WORK_DIR, 'root-'))
  writeFileSync(`${root}.owner`, `${process.pid}\n`)
  trackRoot(root)
  // mkdtemp makes it 0700: a / that only root may enter, and every service
  // of another user fails (rabbitmq-server: status=200/CHDIR; dbus).
  chmodSync(root, 0o755)
  if (existsSync(tarball)) {
    opts.log?.(`base system from ${tarball}`)
    await run('tar', ['--zstd', '-xpf', tarball, '--numeric-owner', '-C', root], { maxBuffer: 64 * 1024 * 1024 })
    chmodSync(root, 0o755)
    return root
  }
  opts.log?.(`debootstrap ${suite} from ${mirror} (${include.join(',')}); cached afterwards as ${tarball}`)
  const started = Date.now()
  const result = await run('debootstrap', ['--variant=minbase', `--include=${include.join(',')}`, suite, root, mirror], { maxBuffer: 64 * 1024 * 1024, timeout: 900_000 })
    .then(() => undefined, (err: { stdout?: string, stderr?: string, message: string }) => `${err.message}\n${(err.stdout ?? '').slice(-3000)}\n${(err.stderr ?? '').slice(-3000)}`)
  if (result !== undefined) throw new Error(`debootstrap failed: ${result}`)
  // apt's downloaded .debs are not needed in the image.
  rmSync(join(root, 'var/cache/apt/archives'), { recursive: true, force: true })
  mkdirSync(join(root, 'var/cache/apt/archives/partial'), { recursive: true })
  opts.log?.(`debootstrap took ${Math.round((Date.now() - started) / 1000)} s`)
  const tmp = `${tarball}.${process.pid}.tmp`
  await run('tar', ['--zstd', '-cpf', tmp, '--numeric-owner', '-C', root, '.'], { maxBuffer: 64 * 1024 * 1024 })
  renameSync(tmp, tarball)
  return root
}

/**
 * Fills `cacheDir` (default CACHE_DIR/npm) on the host with every package of
 * the package-lock.json in `projectDir`, so that `npm ci` with OFFLINE_NPM_ENV
 * works in the container. Remembers each lock it filled for (by hash): a
 * second call for the same lock returns at once. Needs the npm registry the
 * first time. Returns cacheDir.
 */
export async function fillNpmCache (projectDir: string, cacheDir = join(CACHE_DIR, 'npm')): Promise<string> {
  const lock = readFileSync(join(projectDir, 'package-lock.json'))
  const stamp = join(cacheDir, `.filled-${createHash('sha256').update(lock).digest('hex').slice(0, 16)}`)
  if (existsSync(stamp)) return cacheDir
  mkdirSync(cacheDir, { recursive: true })
  const tmp = mkdtempSync(join(WORK_DIR, 'npm-'))
  try {
    cpSync(join(projectDir, 'package.json'), join(tmp, 'package.json'))
    writeFileSync(join(tmp, 'package-lock.json'), lock)
    await run('npm', ['ci', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', '--cache', cacheDir], { cwd: tmp, timeout: 600_000, maxBuffer: 64 * 1024 * 1024 })
    writeFileSync(stamp, '')
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
  return cacheDir
}

/**
 * Copies this machine's Node.js into a container root: /usr/bin/node, npm
 * (/usr/lib/node_modules/npm, with /usr/bin/npm and npx) and Node's headers
 * (/usr/include/node, for node-gyp). The host's node must be a system-wide
 * /usr install (NodeSource's or Debian's); it needs only libc and libstdc++.
 */
export function copyHostNode (root: string): void {
  cpSync('/usr/bin/node', join(root, 'usr/bin/node'), { preserveTimestamps: true })
  cpSync('/usr/lib/node_modules/npm', join(root, 'usr/lib/node_modules/npm'), { recursive: true, verbatimSymlinks: true })
  if (existsSync('/usr/include/node')) cpSync('/usr/include/node', join(root, 'usr/include/node'), { recursive: true })
  for (const [bin, target] of [['npm', 'npm-cli.js'], ['npx', 'npx-cli.js']]) {
    rmSync(join(root, 'usr/bin', bin!), { force: true })
    symlinkSync(`../lib/node_modules/npm/bin/${target!}`, join(root, 'usr/bin', bin!))
  }
}

export interface ContainerOptions {
  /** A root folder from prepareRoot; the container owns it and destroy() removes it. */
  root: string
  /** A short word for the machine name (letters/digits, ≤ 8 chars): `LABEL-N`, N the subnet number. */
  label: string
  /** Host folders mounted inside (by nspawn, in the container's mount namespace). */
  binds?: Array<{ host: string, container: string, readOnly?: boolean }>
  /** Called with progress lines (e.g. t.comment). */
  log?: (line: string) => void
}

export interface Container {
  /** Machine name (also the container's hostname). */
  name: string
  /** The root folder on the host: files written there are inside, and the other way round. */
  root: string
  /** The container's address, reachable from the host (10.77.N.2). */
  ip: string
  /** The host's end of the veth (10.77.N.1). */
  hostIp: string
  /** Host PID of the container's systemd (PID 1 inside); 0 when not booted. */
  pid: () => number
  /** Where the container's console goes (a file on the host), for failure reports. */
  consoleLog: string
  /**
   * Boots it (systemd-nspawn --boot) and resolves with `systemctl
   * is-system-running` once that is `running` or `degraded` (within
   * timeoutMs, default 120 000 ms; throws with the console's end otherwise).
   */
  boot: (timeoutMs?: number) => Promise<string>
  /**
   * Runs argv inside (nsenter into every namespace of its PID 1) as root, in
   * an empty environment plus PATH, HOME=/root, LANG=C.UTF-8 and `env`.
   * Resolves with the exit code (124 on timeout, default 600 000 ms) and the
   * output; never throws for a non-zero exit.
   */
  exec: (argv: string[], opts?: { env?: Record<string, string>, timeoutMs?: number, input?: string }) => Promise<ExecResult>
  /** `exec(['bash', '-c', script])`. */
  sh: (script: string, opts?: { env?: Record<string, string>, timeoutMs?: number }) => Promise<ExecResult>
  /** `systemctl poweroff` inside, and waits for nspawn to exit (default 60 000 ms; then kills it and throws). */
  poweroff: (timeoutMs?: number) => Promise<void>
  /** Always safe to call, several times too: kills what runs, removes the root folder, frees the subnet. */
  destroy: () => Promise<void>
}

/** Claims a free 10.77.N.0/30 on this host (a lock folder per N); frees the locks of dead owners. */
function claimSubnet (): number {
  mkdirSync(SUBNET_LOCKS, { recursive: true })
  for (let n = 1; n < 255; n++) {
    const lock = join(SUBNET_LOCKS, String(n))
    try {
      mkdirSync(lock)
    } catch {
      const owner = Number(readFileSync(join(lock, 'pid'), 'utf8').trim() || 0)
      if (owner > 0 && existsSync(`/proc/${owner}`)) continue
      // Its owner died (and its container with it, see cleanupSync): take it over.
      rmSync(lock, { recursive: true, force: true })
      try { mkdirSync(lock) } catch { continue }
    }
    writeFileSync(join(lock, 'pid'), `${process.pid}\n`)
    return n
  }
  throw new Error('no free 10.77.N.0/30 subnet for a container')
}

/* ---- cleanup when the test process dies before its teardown ------------- */

const liveRoots = new Set<string>()
const liveInits = new Set<number>()
const liveSubnets = new Set<number>()
let hooked = false

function trackRoot (root: string): void {
  liveRoots.add(root)
  if (hooked) return
  hooked = true
  process.once('exit', cleanupSync)
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      cleanupSync()
      process.removeListener(signal, onSignal)
      process.kill(process.pid, signal)
    }
    process.on(signal, onSignal)
  }
}

/** Kills every container this process started, removes their roots and subnet locks (synchronous). */
function cleanupSync (): void {
  for (const pid of liveInits) {
    try { process.kill(pid, 'SIGKILL') } catch {}
  }
  for (const pid of liveInits) {
    // PID 1 of a namespace gone: every process of it is gone. Bounded wait.
    spawnSync('sh', ['-c', `i=0; while [ -e /proc/${pid} ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done`])
  }
  liveInits.clear()
  for (const root of liveRoots) {
    rmSync(root, { recursive: true, force: true })
    rmSync(`${root}.owner`, { force: true })
  }
  liveRoots.clear()
  for (const n of liveSubnets) rmSync(join(SUBNET_LOCKS, String(n)), { recursive: true, force: true })
  liveSubnets.clear()
}

/** The children of a process (from /proc). */
function childrenOf (pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((task) =>
      readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number))
  } catch {
    return []
  }
}

function comm (pid: number): string {
  try { return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() } catch { return '' }
}

/**
 * A container on a prepared root: writes its network setup (systemd-networkd,
 * a static 10.77.N.2/30 on host0) into the root, but does not boot it: call boot().
 */
export async function createContainer (opts: ContainerOptions): Promise<Container> {
  if (!/^[a-z0-9]{1,8}$/.test(opts.label)) throw new Error(`label must be 1–8 lowercase letters or digits: ${opts.label}`)
  trackRoot(opts.root)
  const subnet = claimSubnet()
  liveSubnets.add(subnet)
  // "ve-" + name must fit in an interface name (15 chars).
  const name = `${opts.label}-${subnet}`
  const ip = `10.77.${subnet}.2`
  const hostIp = `10.77.${subnet}.1`
  const veth = `ve-${name}`
  const root = opts.root
  const consoleLog = `${root}.console.log`
  const log = opts.log ?? (() => {})

  // Network inside: exactly this file name, or systemd-networkd ignores it for host0.
  mkdirSync(join(root, 'etc/systemd/network'), { recursive: true })
  writeFileSync(join(root, 'etc/systemd/network/80-container-host0.network'), [
    '[Match]', 'Kind=veth', 'Name=host0', '',
    '[Network]', `Address=${ip}/30`, `Gateway=${hostIp}`, 'LinkLocalAddressing=no', 'IPv6AcceptRA=no', ''
  ].join('\n'))
  await run('systemctl', [`--root=${root}`, '--quiet', 'enable', 'systemd-networkd.service'])
  // No getty on a console nobody reads.
  await run('systemctl', [`--root=${root}`, '--quiet', 'mask', 'console-getty.service']).catch(() => {})
  writeFileSync(join(root, 'etc/hostname'), `${name}\n`)
  // The hostname must resolve without DNS (there is none inside): RabbitMQ's
  // node is rabbit@NAME, and without this line it starts and stops in minutes.
  writeFileSync(join(root, 'etc/hosts'), `127.0.0.1\tlocalhost\n127.0.1.1\t${name}\n::1\tlocalhost ip6-localhost ip6-loopback\n`)

  let nspawn: ChildProcess | undefined
  let nspawnExit: Promise<void> = Promise.resolve()
  let init = 0
  let destroyed = false

  const exec: Container['exec'] = async (argv, execOpts = {}) => {
    if (init === 0) throw new Error(`${name} is not running`)
    const env = { PATH: CONTAINER_PATH, HOME: '/root', LANG: 'C.UTF-8', ...execOpts.env }
    const args = ['-t', String(init), '-a', '--', 'env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...argv]
    return await new Promise<ExecResult>((resolve) => {
      const child = spawn('nsenter', args, { stdio: ['pipe', 'pipe', 'pipe'] })
      let stdout = ''
      let stderr = ''
      let timedOut = false
      child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
      const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL') }, execOpts.timeoutMs ?? 600_000)
      child.on('close', (code) => {
        clearTimeout(timer)
        resolve({ code: timedOut ? 124 : code ?? 128, stdout, stderr })
      })
      child.stdin.on('error', () => {})
      child.stdin.end(execOpts.input ?? '')
    })
  }

  const boot: Container['boot'] = async (timeoutMs = 120_000) => {
    if (destroyed) throw new Error(`${name} was destroyed`)
    if (init !== 0) throw new Error(`${name} is already running`)
    const out = openSync(consoleLog, 'a')
    const args = ['-D', root, '--boot', '--register=no', '--keep-unit', '--network-veth', `--machine=${name}`, '--console=read-only',
      ...(opts.binds ?? []).map((b) => `--${b.readOnly === true ? 'bind-ro' : 'bind'}=${b.host}:${b.container}`)]
    log(`systemd-nspawn ${args.join(' ')}`)
    const child = spawn('systemd-nspawn', args, { detached: true, stdio: ['ignore', out, out] })
    closeSync(out)
    nspawn = child
    nspawnExit = new Promise((resolve) => child.once('exit', () => resolve()))
    void nspawnExit.then(() => { liveInits.delete(init); init = 0; nspawn = undefined })
    const consoleEnd = (): string => { try { return readFileSync(consoleLog, 'utf8').slice(-4000) } catch { return '' } }
    try {
      init = await waitFor('the container\'s systemd', () => {
        if (child.exitCode !== null) throw new Error(`systemd-nspawn exited with ${child.exitCode}: ${consoleEnd()}`)
        return childrenOf(child.pid!).find((p) => comm(p) === 'systemd')
      }, { timeoutMs: 30_000, intervalMs: 50 })
      liveInits.add(init)
      await waitFor(`the host end of ${veth}`, async () => await run('ip', ['link', 'show', veth]).then(() => true, () => false), { timeoutMs: 30_000, intervalMs: 100 })
      await run('ip', ['addr', 'replace', `${hostIp}/30`, 'dev', veth])
      await run('ip', ['link', 'set', veth, 'up'])
      let state = ''
      await waitFor(`${name} to finish booting`, async () => {
        if (init === 0) throw new Error(`the container stopped: ${consoleEnd()}`)
        state = (await exec(['systemctl', 'is-system-running'], { timeoutMs: 10_000 })).stdout.trim()
        return state === 'running' || state === 'degraded'
      }, { timeoutMs, intervalMs: 250 }).catch((err: Error) => { throw new Error(`${err.message} (last state: ${state}); console: ${consoleEnd()}`) })
      log(`${name} booted: ${state}`)
      return state
    } catch (err) {
      await kill()
      throw err
    }
  }

  /** SIGKILL to the container's PID 1 (which ends its PID namespace), then nspawn. */
  const kill = async (): Promise<void> => {
    if (init !== 0) { try { process.kill(init, 'SIGKILL') } catch {} }
    if (nspawn !== undefined && nspawn.exitCode === null) {
      const gone = await Promise.race([nspawnExit.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 15_000))])
      if (!gone) { try { nspawn.kill('SIGKILL') } catch {} ; await nspawnExit }
    }
    liveInits.delete(init)
    init = 0
    // nspawn removes this folder of the host itself, unless it was killed.
    rmSync(`/run/systemd/nspawn/propagate/${name}`, { recursive: true, force: true })
  }

  const poweroff: Container['poweroff'] = async (timeoutMs = 60_000) => {
    if (init === 0) return
    await exec(['systemctl', 'poweroff'], { timeoutMs: 30_000 })
    const done = await Promise.race([nspawnExit.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs))])
    if (!done) {
      await kill()
      throw new Error(`${name} did not power off within ${timeoutMs} ms`)
    }
  }

  const destroy: Container['destroy'] = async () => {
    destroyed = true
    await kill()
    // Never follow a bind mount into the host: nspawn's mounts die with its namespace, but check.
    const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1]).filter((m): m is string => m !== undefined && m.startsWith(`${root}/`))
    if (mounts.length > 0) throw new Error(`mounts left under ${root}: ${mounts.join(', ')}`)
    rmSync(root, { recursive: true, force: true })
    rmSync(`${root}.owner`, { force: true })
    rmSync(consoleLog, { force: true })
    liveRoots.delete(root)
    rmSync(join(SUBNET_LOCKS, String(subnet)), { recursive: true, force: true })
    liveSubnets.delete(subnet)
  }

  return { name, root, ip, hostIp, pid: () => init, consoleLog, boot, exec, sh: async (script, o) => await exec(['bash', '-c', script], o), poweroff, destroy }
}

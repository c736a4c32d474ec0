import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { cleanupOnExit, killOnExit, ROOT } from './service.js'

/*
 * Several "hosts" on one machine: each a network namespace with its own
 * address on a private /24 of the run, linked to a bridge in the root
 * namespace (where the bench client runs; the bridge's address is every
 * host's default route). With delayMs, every packet a host sends waits
 * delayMs before it reaches the bridge (host A to host B: delayMs, and
 * delayMs back), and so does every packet the root namespace sends to a
 * host: the client is one more host, a round trip anywhere costs 2 × delayMs.
 *
 * The delay is tc netem where the kernel has it (a veth pair per host, netem
 * on the host's end and on the bridge); where it has not
 * (CONFIG_NET_SCH_NETEM unset, as on this machine's kernel), a small C
 * program of ours, lib/launch/delay-link.c (compiled with `cc`), joins each
 * host to the bridge through two TAP devices and holds the frames itself.
 *
 * Every name starts with the run's prefix (`pn` + 6 random characters):
 * namespaces `<prefix>-<host>`, the bridge `<prefix>b`, the root ends of the
 * links `<prefix>l<n>`. remove() deletes all of them (killing whatever still
 * runs in the namespaces); it also runs on exit and on SIGINT/SIGTERM/SIGHUP
 * (lib/launch/service.ts), and a watchdog process does it once this process
 * is gone even when the exit handler could not run or finish (SIGKILL: tsx
 * SIGKILLs its child 60 ms after relaying a Ctrl-C). A failed run leaves
 * nothing behind.
 */

export interface Host {
  /** The name given to createHosts. */
  name: string
  /** The network namespace (`ip netns exec <namespace> ...`). */
  namespace: string
  /** Its IPv4 address on the run's /24. */
  address: string
  /** The command prefix that runs a program on this host: ['ip', 'netns', 'exec', namespace]. */
  wrap: string[]
  /** The root namespace's end of its link (its packet counters: /sys/class/net/<link>/statistics). */
  link: string
}

export interface Hosts {
  prefix: string
  /** The root namespace's address on the /24 (the bench client's source address). */
  clientAddress: string
  hosts: Host[]
  /** The host of that name; throws if there is none. */
  host: (name: string) => Host
  /** One-way latency added to every packet a host (or the client) sends, in ms. */
  delayMs: number
  /** What adds it: the kernel's netem, our delay-link program, or nothing (delayMs 0). */
  delayBy: 'netem' | 'delay-link' | 'none'
  /** Deletes everything createHosts made (synchronous, idempotent; never throws). */
  remove: () => void
  /** A folder for remove() to delete too, and the watchdog if this process dies first (a server's data of the run). */
  removeWith: (folder: string) => void
}

export interface HostsOptions {
  /** One-way latency per hop in ms (integer or fraction); default 0. */
  delayMs?: number
  /** 'delay-link' even where netem works (to test that path). */
  forceDelayLink?: boolean
}

/** Runs ip/tc and returns stdout; throws with the command and its stderr when it fails. */
function sh (command: string, ...args: string[]): string {
  const r = spawnSync(command, args, { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${r.error?.message ?? r.stderr.trim()}`)
  return r.stdout
}

/** Like sh, ignoring failures (teardown: the thing may already be gone). */
function tryRun (command: string, ...args: string[]): void {
  spawnSync(command, args, { stdio: 'ignore' })
}

/** Whether `ip netns` can make namespaces here (root, a kernel with CONFIG_NET_NS); the reason when not. */
export function netnsUnavailable (): string | undefined {
  const name = `pn${randomBytes(3).toString('hex')}-probe`
  const r = spawnSync('ip', ['netns', 'add', name], { encoding: 'utf8' })
  if (r.error !== undefined) return `no ip command (Debian package iproute2): ${r.error.message}`
  if (r.status !== 0) return `ip netns add fails here: ${r.stderr.trim()}`
  tryRun('ip', 'netns', 'del', name)
  return undefined
}

/*
 * The teardown again, as a shell script in a session of its own (a signal
 * to this process group does not reach it). It reads folders, one a line,
 * until EOF on stdin, which comes when this process ends whatever way;
 * then it kills what runs on the hosts and deletes namespaces, links, the
 * bridge and the folders. Arguments: bridge, then namespace and link of
 * each host.
 */
const WATCHDOG = `bridge=$1; shift
folders=""
while IFS= read -r line; do folders="$folders$line
"; done
while [ $# -ge 2 ]; do
  for p in $(ip netns pids "$1" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
  ip netns del "$1" 2>/dev/null; ip link del "$2" 2>/dev/null; shift 2
done
ip link del "$bridge" 2>/dev/null
printf '%s' "$folders" | while IFS= read -r f; do [ -n "$f" ] && rm -rf -- "$f"; done
exit 0`

/**
 * A /24 under 10.213.0.0/16 that no address or route of the root namespace
 * uses yet; its first three octets. Picked at random: two runs starting at the
 * same instant could still pick the same one (1 in 256).
 */
function freeSubnet (): string {
  const used = sh('ip', '-4', '-o', 'addr') + sh('ip', '-4', 'route')
  for (let i = 0; i < 50; i++) {
    const subnet = `10.213.${randomBytes(1)[0]!}`
    if (!used.includes(`${subnet}.`)) return subnet
  }
  throw new Error('no free /24 under 10.213.0.0/16')
}

/**
 * Creates one namespace per name (at most 30), linked as described above,
 * and resolves once every host can be reached from the root namespace.
 * Throws (after removing what it made) if a command fails.
 */
export async function createHosts (names: string[], opts: HostsOptions = {}): Promise<Hosts> {
  if (names.length === 0 || names.length > 30) throw new Error(`createHosts: 1 to 30 hosts, not ${names.length}`)
  if (new Set(names).size !== names.length || names.some((n) => !/^[a-z0-9-]{1,20}$/.test(n))) throw new Error(`createHosts: distinct names of a-z, 0-9 and -, got ${names.join(', ')}`)
  const delayMs = opts.delayMs ?? 0
  const prefix = `pn${randomBytes(3).toString('hex')}`
  const bridge = `${prefix}b`
  const subnet = freeSubnet()
  const clientAddress = `${subnet}.1`
  const hosts: Host[] = names.map((name, i) => {
    const namespace = `${prefix}-${name}`
    return { name, namespace, address: `${subnet}.${i + 2}`, wrap: ['ip', 'netns', 'exec', namespace], link: `${prefix}l${i + 1}` }
  })
  let dir: string | undefined
  let forwarder: { kill: () => void } | undefined
  const folders: string[] = []
  const watchdog = spawn('sh', ['-c', WATCHDOG, 'netns-watchdog', bridge, ...hosts.flatMap((h) => [h.namespace, h.link])], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] })
  watchdog.unref()
  ;(watchdog.stdin as unknown as { unref: () => void }).unref()
  watchdog.stdin!.on('error', () => {})
  const removeWith = (folder: string): void => {
    folders.push(folder)
    watchdog.stdin!.write(`${folder}\n`)
  }
  let removed = false
  const remove = (): void => {
    if (removed) return
    removed = true
    forgetCleanup()
    forwarder?.kill()
    for (const h of hosts) {
      // Whatever still runs on the host (a service, PostgreSQL, RabbitMQ and its epmd): ours, started in our namespace.
      const pids = spawnSync('ip', ['netns', 'pids', h.namespace], { encoding: 'utf8' }).stdout ?? ''
      for (const pid of pids.split('\n').filter((p) => p !== '')) {
        try { process.kill(Number(pid), 'SIGKILL') } catch {}
      }
      tryRun('ip', 'netns', 'del', h.namespace)
      tryRun('ip', 'link', 'del', h.link)
    }
    tryRun('ip', 'link', 'del', bridge)
    for (const f of folders) rmSync(f, { recursive: true, force: true })
    // All done: the watchdog has nothing left to do.
    try { watchdog.kill('SIGKILL') } catch {}
    watchdog.stdin!.destroy()
  }
  const forgetCleanup = cleanupOnExit(remove)
  try {
    sh('ip', 'link', 'add', bridge, 'type', 'bridge')
    sh('ip', 'addr', 'add', `${clientAddress}/24`, 'dev', bridge)
    sh('ip', 'link', 'set', bridge, 'up')
    for (const h of hosts) sh('ip', 'netns', 'add', h.namespace)

    let delayBy: Hosts['delayBy'] = 'none'
    if (delayMs > 0) {
      // The client's packets to the hosts leave through the bridge device itself: netem there, if the kernel has it.
      const netem = opts.forceDelayLink !== true && spawnSync('tc', ['qdisc', 'add', 'dev', bridge, 'root', 'netem', 'delay', `${delayMs}ms`]).status === 0
      delayBy = netem ? 'netem' : 'delay-link'
    }
    if (delayBy === 'delay-link') {
      dir = mkdtempSync(join(tmpdir(), `${prefix}-`))
      removeWith(dir)
      forwarder = await startDelayLink(dir, delayMs, clientAddress, hosts)
    } else {
      for (const h of hosts) {
        sh('ip', 'link', 'add', h.link, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.namespace)
        if (delayBy === 'netem') sh('tc', '-n', h.namespace, 'qdisc', 'add', 'dev', 'eth0', 'root', 'netem', 'delay', `${delayMs}ms`)
      }
    }
    for (const h of hosts) {
      sh('ip', 'link', 'set', h.link, 'master', bridge, 'up')
      sh('ip', '-n', h.namespace, 'link', 'set', 'lo', 'up')
      sh('ip', '-n', h.namespace, 'addr', 'add', `${h.address}/24`, 'dev', 'eth0')
      sh('ip', '-n', h.namespace, 'link', 'set', 'eth0', 'up')
      sh('ip', '-n', h.namespace, 'route', 'add', 'default', 'via', clientAddress)
    }
    const byName = new Map(hosts.map((h) => [h.name, h]))
    return {
      prefix,
      clientAddress,
      hosts,
      host: (name) => {
        const h = byName.get(name)
        if (h === undefined) throw new Error(`no host ${name} (hosts: ${names.join(', ')})`)
        return h
      },
      delayMs,
      delayBy,
      remove,
      removeWith
    }
  } catch (err) {
    remove()
    throw err
  }
}

/** Compiles lib/launch/delay-link.c into dir and starts it for the hosts; resolves once its TAP devices exist. */
async function startDelayLink (dir: string, delayMs: number, clientAddress: string, hosts: Host[]): Promise<{ kill: () => void }> {
  const binary = join(dir, 'delay-link')
  try {
    sh('cc', '-O2', '-o', binary, join(ROOT, 'lib', 'launch', 'delay-link.c'))
  } catch (err) {
    throw new Error(`this kernel has no tc netem, and lib/launch/delay-link.c, which stands in for it, does not compile (Debian package gcc): ${(err as Error).message}`)
  }
  // stdin stays a pipe from this process: when this process dies, the program reads EOF and exits, and its TAP devices go with it.
  const child = spawn(binary, [String(Math.round(delayMs * 1000)), clientAddress, ...hosts.map((h) => `${h.namespace}:${h.link}`)], { stdio: ['pipe', 'pipe', 'pipe'] })
  const forget = killOnExit(child.pid!)
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString() })
  await new Promise<void>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! })
    rl.once('line', (line) => { if (line === 'ready') resolve(); else reject(new Error(`delay-link: ${line}`)) })
    child.once('exit', (code) => reject(new Error(`delay-link exited with ${String(code)}: ${stderr}`)))
  })
  return {
    kill: () => {
      forget()
      try { child.kill('SIGKILL') } catch {}
    }
  }
}

import { parseArgs } from 'node:util'

export const PHASES = ['http', 'broker', 'payments', 'memory'] as const
export type Phase = typeof PHASES[number]

export interface BenchOptions {
  phases: Set<Phase>
  httpSeconds: number
  httpRounds: number
  httpConnections: number
  brokerSeconds: number
  /** Messages the raw loop keeps unconfirmed at once (the relay's OUTBOX_BATCH). */
  brokerWindow: number
  brokerMaxQueued: number
  prefetch: number
  users: number
  /** Fixed offered rates, one phase each, in this order. */
  rates: number[]
  rateSeconds: number
  rateConnections: number
  saturationSeconds: number
  saturationConnections: number
  /** Memory checkpoints: quiet RSS once this many payments were accepted in the run. */
  memoryCheckpoints: number[]
  settleTimeoutSeconds: number
  /** Extra env for the three services (`--env KEY=VALUE`), e.g. SQLITE_SYNCHRONOUS=NORMAL. */
  env: Record<string, string>
  gatewayAuth: boolean
  /** nginx binary to compare with; 'off' skips the nginx row; undefined: look for it. */
  nginx: string | undefined
  profile: boolean
  /** Time every SQLite statement in usuarios and pagos (bench/probe.cjs). */
  probe: boolean
  /** Keep the services' temp dir (data, logs) for a look afterwards. */
  keep: boolean
  label: string
  outDir: string
}

const HELP = `npm run bench -- [flags]

  --phases http,broker,payments,memory   which parts to run (default: all)
  --http-seconds 5 --http-rounds 3 --http-connections 32
  --broker-seconds 10 --broker-window 200 --broker-max-queued 1000 --prefetch 100
  --users 200 --rates 100,500 --rate-seconds 20 --rate-connections 100
                                         (--rate 500: one rate only)
  --saturation-seconds 20 --saturation-connections 64
  --payments-100k                        add the 100,000-payment memory checkpoint (several minutes)
  --memory-checkpoints 10000,100000      explicit checkpoints (payments accepted in the run)
  --settle-timeout 180                   bound on waiting for the backlog to drain (s)
  --env KEY=VALUE                        extra env for the services (repeatable); gateway:KEY=VALUE for one service
  --gateway-auth                         turn GATEWAY_API_KEYS on and send a Bearer key
  --nginx PATH|off                       the nginx binary (default: found on PATH or in /usr/sbin), or no nginx row
  --profile                              node --cpu-prof for usuarios, pagos, gateway; summary at the end
  --probe                                also time every SQLite statement in usuarios and pagos (bench/probe.cjs)
  --keep                                 keep the services' temp dir (data, logs) and print where it is
  --label NAME                           tag for the result files
  --out bench/results`

export function parseOptions (argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      help: { type: 'boolean' },
      phases: { type: 'string' },
      'http-seconds': { type: 'string' },
      'http-rounds': { type: 'string' },
      'http-connections': { type: 'string' },
      'broker-seconds': { type: 'string' },
      'broker-window': { type: 'string' },
      'broker-max-queued': { type: 'string' },
      prefetch: { type: 'string' },
      users: { type: 'string' },
      rate: { type: 'string' },
      rates: { type: 'string' },
      'rate-seconds': { type: 'string' },
      'rate-connections': { type: 'string' },
      'saturation-seconds': { type: 'string' },
      'saturation-connections': { type: 'string' },
      'payments-100k': { type: 'boolean' },
      'memory-checkpoints': { type: 'string' },
      'settle-timeout': { type: 'string' },
      env: { type: 'string', multiple: true },
      'gateway-auth': { type: 'boolean' },
      nginx: { type: 'string' },
      profile: { type: 'boolean' },
      probe: { type: 'boolean' },
      keep: { type: 'boolean' },
      label: { type: 'string' },
      out: { type: 'string' }
    }
  })
  if (values.help === true) {
    console.log(HELP)
    process.exit(0)
  }
  const num = (name: keyof typeof values, def: number): number => {
    const raw = values[name]
    if (raw === undefined) return def
    const n = Number(raw)
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${String(raw)}`)
    return n
  }
  const phases = new Set<Phase>()
  for (const p of (values.phases ?? PHASES.join(',')).split(',').map((s) => s.trim()).filter(Boolean)) {
    if (!(PHASES as readonly string[]).includes(p)) throw new Error(`--phases: unknown phase ${p} (known: ${PHASES.join(', ')})`)
    phases.add(p as Phase)
  }
  const env: Record<string, string> = {}
  for (const kv of values.env ?? []) {
    const i = kv.indexOf('=')
    if (i < 1) throw new Error(`--env expects KEY=VALUE, got ${kv}`)
    env[kv.slice(0, i)] = kv.slice(i + 1)
  }
  const checkpoints = values['memory-checkpoints'] !== undefined
    ? values['memory-checkpoints'].split(',').map(Number).filter((n) => n > 0).sort((a, b) => a - b)
    : values['payments-100k'] === true ? [10_000, 100_000] : [10_000]
  return {
    phases,
    httpSeconds: num('http-seconds', 5),
    httpRounds: num('http-rounds', 3),
    httpConnections: num('http-connections', 32),
    brokerSeconds: num('broker-seconds', 10),
    brokerWindow: num('broker-window', 200),
    brokerMaxQueued: num('broker-max-queued', 1000),
    prefetch: num('prefetch', 100),
    users: num('users', 200),
    rates: values.rates !== undefined
      ? values.rates.split(',').map(Number).filter((n) => Number.isFinite(n) && n > 0)
      : values.rate !== undefined ? [num('rate', 500)] : [100, 500],
    rateSeconds: num('rate-seconds', 20),
    rateConnections: num('rate-connections', 100),
    saturationSeconds: num('saturation-seconds', 20),
    saturationConnections: num('saturation-connections', 64),
    memoryCheckpoints: checkpoints,
    settleTimeoutSeconds: num('settle-timeout', 180),
    env,
    gatewayAuth: values['gateway-auth'] === true,
    nginx: values.nginx,
    profile: values.profile === true,
    probe: values.probe === true,
    keep: values.keep === true,
    label: values.label ?? 'bench',
    outDir: values.out ?? 'bench/results'
  }
}

/**
 * The instances of one service, taken in turn (round robin), with passive
 * health: an instance that refused a connection sits out a cool-down and is
 * then tried again by real traffic; any answer from it puts it back.
 */
export interface Instance {
  /** As configured, e.g. http://10.0.0.5:5004 */
  url: string
  /** scheme://host:port, what the HTTP client keys its pools by. */
  origin: string
  /** Epoch ms before which it is skipped; 0 when it is taken. */
  downUntil: number
  /** Requests sent to it since the gateway started. */
  requests: number
}

export interface Balancer {
  readonly instances: readonly Instance[]
  /** The next instance in turn that is not cooling down and not in `exclude`; when all are cooling down, the one that comes back first. */
  pick: (exclude?: ReadonlySet<string>) => Instance | undefined
  /** It refused a connection: skip it for the cool-down. */
  markDown: (origin: string) => void
  /** It answered: take it again. */
  markUp: (origin: string) => void
}

/** `http://a:1, http://b:2/` → the URLs, each once. */
export function parseUpstreamList (list: string): string[] {
  return [...new Set(list.split(',').map((u) => u.trim()).filter((u) => u !== '').map((u) => new URL(u).origin))]
}

/**
 * `urls`: the service's instance URLs (at least one, else an Error);
 * `cooldownMs`: how long an instance that refused a connection is skipped;
 * `now`: the clock, epoch ms (tests pass their own).
 */
export function createBalancer (urls: string[], cooldownMs: number, now: () => number = Date.now): Balancer {
  if (urls.length === 0) throw new Error('a service needs at least one instance URL')
  const instances: Instance[] = urls.map((url) => ({ url, origin: new URL(url).origin, downUntil: 0, requests: 0 }))
  const byOrigin = new Map(instances.map((i) => [i.origin, i]))
  let next = 0

  return {
    instances,
    pick (exclude) {
      const t = now()
      let fallback: Instance | undefined
      for (let k = 0; k < instances.length; k++) {
        const candidate = instances[(next + k) % instances.length]!
        if (exclude?.has(candidate.origin) === true) continue
        if (candidate.downUntil <= t) {
          next = (next + k + 1) % instances.length
          candidate.requests++
          return candidate
        }
        if (fallback === undefined || candidate.downUntil < fallback.downUntil) fallback = candidate
      }
      // Every instance left is cooling down: better to try one than to refuse.
      if (fallback !== undefined) fallback.requests++
      return fallback
    },
    markDown (origin) {
      const i = byOrigin.get(origin)
      if (i === undefined) return
      i.downUntil = now() + cooldownMs
    },
    markUp (origin) {
      const i = byOrigin.get(origin)
      if (i === undefined) return
      i.downUntil = 0
    }
  }
}

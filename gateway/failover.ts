import { Agent, type Dispatcher } from 'undici'
import type { Balancer } from './balancer.js'

/* Nobody listening at the instance, or no route to it: the request never left. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT'])

export interface FailoverOptions {
  balancer: Balancer
  connections: number
  keepAliveTimeout: number
  timeoutMs: number
  connectTimeoutMs: number
}

/**
 * The HTTP client the proxy sends through: a keep-alive pool per instance,
 * and passive health. When a request could not connect to its instance
 * (refused, unreachable: no byte of it was sent, the body is untouched) the
 * instance is marked down and the request goes to the next one; a request
 * that reached an instance is never sent again (a POST may have acted).
 * Any answer marks an instance up.
 */
export function createFailoverDispatcher (opts: FailoverOptions): Dispatcher {
  const agent = new Agent({
    connections: opts.connections,
    pipelining: 1,
    keepAliveTimeout: opts.keepAliveTimeout,
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
    connect: { timeout: opts.connectTimeoutMs }
  })
  const { balancer } = opts
  // Parsed once: `new URL()` per request showed in the profile.
  const hosts = new Map(balancer.instances.map((i) => [i.origin, new URL(i.origin).host]))
  const hostOf = (origin: string): string => hosts.get(origin) ?? new URL(origin).host
  return agent.compose((dispatch) => (dispatchOpts, handler) => {
    // Made only when an instance could not be reached (most requests never need it).
    let tried: Set<string> | undefined
    const attempt = (origin: string): boolean => {
      let started = false
      const host = hostOf(origin)
      // reply-from already set the Host of the instance it picked: the first attempt goes as it is.
      const given = dispatchOpts.headers as Record<string, unknown> | null | undefined
      const sameHost = String(dispatchOpts.origin) === origin && given?.host === host && given.Host === undefined
      return dispatch(sameHost ? dispatchOpts : { ...dispatchOpts, origin, headers: withHost(dispatchOpts.headers, host) }, {
        onRequestStart (controller, context) {
          started = true
          handler.onRequestStart?.(controller, context)
        },
        onRequestUpgrade (controller, statusCode, headers, socket) {
          handler.onRequestUpgrade?.(controller, statusCode, headers, socket)
        },
        onResponseStart (controller, statusCode, headers, statusMessage) {
          balancer.markUp(origin)
          handler.onResponseStart?.(controller, statusCode, headers, statusMessage)
        },
        onResponseData (controller, chunk) {
          handler.onResponseData?.(controller, chunk)
        },
        onResponseEnd (controller, trailers) {
          handler.onResponseEnd?.(controller, trailers)
        },
        onResponseError (controller, err) {
          const code = (err as { code?: string }).code
          if (!started && code !== undefined && NOT_CONNECTED.has(code)) {
            balancer.markDown(origin)
            tried ??= new Set()
            tried.add(origin)
            const next = balancer.pick(tried)
            if (next !== undefined) {
              attempt(next.origin)
              return
            }
          }
          handler.onResponseError?.(controller, err)
        }
      })
    }
    return attempt(String(dispatchOpts.origin))
  })
}

/** The Host header names the instance the request goes to. */
function withHost (headers: Dispatcher.DispatchOptions['headers'], host: string): Dispatcher.DispatchOptions['headers'] {
  if (headers === undefined || headers === null) return { host }
  if (Array.isArray(headers)) {
    const out: string[] = []
    for (let i = 0; i < headers.length; i += 2) if (String(headers[i]).toLowerCase() !== 'host') out.push(headers[i] as string, headers[i + 1] as string)
    return [...out, 'host', host]
  }
  if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
    return [...(headers as Iterable<[string, string | string[] | undefined]>)].filter(([k]) => k.toLowerCase() !== 'host').concat([['host', host]]) as never
  }
  const { host: _h, Host: _H, ...rest } = headers as Record<string, string | string[] | undefined>
  return { ...rest, host }
}

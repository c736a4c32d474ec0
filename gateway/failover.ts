import { Agent, type Dispatcher } from 'undici'
import type { Balancer } from './balancer.js'
import { ClientGoneError, NOT_CONNECTED, QueueTimeoutError } from './errors.js'

export interface FailoverOptions {
  balancer: Balancer
  connections: number
  keepAliveTimeout: number
  timeoutMs: number
  connectTimeoutMs: number
}

/**
 * Put on the request headers by the proxy (gateway/proxy.ts): the socket of
 * the client the request comes from. A symbol key is never sent (undici sends
 * string keys only) and survives reply-from's copies of the headers.
 */
export const CLIENT_SOCKET = Symbol('gateway.clientSocket')

/**
 * The HTTP client the proxy sends through: a keep-alive pool per instance,
 * and passive health. When a request could not connect to its instance
 * (refused, unreachable: no byte of it was sent, the body is untouched) the
 * instance is marked down and the request goes to the next one; a request
 * that reached an instance is never sent again (a POST may have acted).
 * Any answer marks an instance up.
 *
 * A request waits for a free connection in undici's queue, where no timeout
 * applies. It is not sent if, when its turn comes, its client has hung up,
 * or it has waited `timeoutMs` — it was then answered 504 at that moment.
 * So a request the gateway gave up on never reaches a service afterwards.
 * (One that was written and then timed out waiting for the answer, 504 too,
 * may have acted: that outcome is unknown, as for any timeout.)
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
  const { balancer, timeoutMs } = opts
  // Parsed once: `new URL()` per request showed in the profile.
  const hosts = new Map(balancer.instances.map((i) => [i.origin, new URL(i.origin).host]))
  const hostOf = (origin: string): string => hosts.get(origin) ?? new URL(origin).host
  return agent.compose((dispatch) => (dispatchOpts, handler) => {
    const client = (dispatchOpts.headers as { [CLIENT_SOCKET]?: { readonly destroyed: boolean } } | null | undefined)?.[CLIENT_SOCKET]
    // Made only when an instance could not be reached (most requests never need it).
    let tried: Set<string> | undefined
    // The proxy's handler has been given the start of the request, or its end (an error).
    let handedOver = false
    let gaveUp: Error | undefined
    let queueTimer: NodeJS.Timeout | undefined
    const settle = (): void => {
      if (queueTimer !== undefined) clearTimeout(queueTimer)
      queueTimer = undefined
    }
    const attempt = (origin: string): boolean => {
      let started = false
      const host = hostOf(origin)
      // reply-from already set the Host of the instance it picked: the first attempt goes as it is.
      const given = dispatchOpts.headers as Record<string, unknown> | null | undefined
      const sameHost = String(dispatchOpts.origin) === origin && given?.host === host && given.Host === undefined
      return dispatch(sameHost ? dispatchOpts : { ...dispatchOpts, origin, headers: withHost(dispatchOpts.headers, host) }, {
        onRequestStart (controller, context) {
          // Thrown, not controller.abort(): undici then drops the request
          // before writing it and keeps the connection, where abort() would
          // also close a healthy pooled connection.
          if (gaveUp !== undefined) throw gaveUp
          if (client?.destroyed === true) throw new ClientGoneError()
          started = true
          handedOver = true
          settle()
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
          // Already answered 504 when the queue timer fired.
          if (gaveUp !== undefined) return
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
          settle()
          handedOver = true
          handler.onResponseError?.(controller, err)
        }
      })
    }
    const accepted = attempt(String(dispatchOpts.origin))
    // A GET on a free connection was written within dispatch() and needs no
    // timer; any other request has one until it starts.
    if (!handedOver && timeoutMs > 0) {
      queueTimer = setTimeout(() => {
        queueTimer = undefined
        gaveUp = new QueueTimeoutError(timeoutMs)
        handler.onResponseError?.(GIVEN_UP, gaveUp)
      }, timeoutMs)
    }
    return accepted
  })
}

/** What the proxy gets with a request given up before it was sent: nothing is left to pause or abort. */
const GIVEN_UP: Dispatcher.DispatchController = {
  aborted: true,
  paused: false,
  reason: null,
  abort () {},
  pause () {},
  resume () {}
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

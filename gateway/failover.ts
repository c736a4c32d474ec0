import type { Duplex } from 'node:stream'
import { Agent, Dispatcher, errors } from 'undici'
import type { Balancer } from './balancer.js'
import { ClientGoneError, NOT_CONNECTED, QueueTimeoutError } from './errors.js'
import { requestThrough } from './upstream-answer.js'

const { InvalidArgumentError } = errors

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
  return new FailoverDispatcher(agent, opts.balancer, opts.timeoutMs)
}

/**
 * A Dispatcher of its own around the Agent rather than `agent.compose()`: a
 * composed interceptor speaks undici's newer handler interface, so every
 * answer's headers went raw → object → raw (a Buffer per name and value) →
 * object again between undici's request() and the pool, and every property of
 * the composed dispatcher was read through a Proxy. Here the request() handler
 * and the pool talk the same (classic) interface, through one object per
 * request (bench/FINDINGS.md, issue 16).
 */
class FailoverDispatcher extends Dispatcher {
  private readonly hosts: Map<string, string>

  constructor (private readonly agent: Agent, readonly balancer: Balancer, readonly timeoutMs: number) {
    super()
    // Parsed once: `new URL()` per request showed in the profile.
    this.hosts = new Map(balancer.instances.map((i) => [i.origin, new URL(i.origin).host]))
  }

  hostOf (origin: string): string {
    return this.hosts.get(origin) ?? new URL(origin).host
  }

  /** Each instance's connections go through the Agent; the Agent is the one to dispatch on. */
  send (opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    return this.agent.dispatch(opts, handler)
  }

  override dispatch (opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    // undici's request() (reply-from's way in) gives a classic handler; one with only the newer interface would get no callbacks.
    if (typeof handler.onConnect !== 'function') throw new InvalidArgumentError('the gateway\'s dispatcher takes handlers with onConnect/onHeaders/onData/onComplete/onError')
    return new FailoverRequest(this, opts, handler).start()
  }

  /**
   * reply-from's way in (callback form): small answers are read whole by the
   * gateway's own handler (gateway/upstream-answer.ts requestThrough); the
   * promise form is undici's.
   */
  override request (...args: unknown[]): never {
    const [opts, callback] = args as [Dispatcher.RequestOptions, ((err: Error | null, data?: unknown) => void) | undefined]
    if (typeof callback !== 'function') return (super.request as (...a: unknown[]) => never)(...args)
    requestThrough(this, opts, callback as never)
    return undefined as never
  }

  override close (...args: unknown[]): never {
    return (this.agent.close as (...a: unknown[]) => never)(...args)
  }

  override destroy (...args: unknown[]): never {
    return (this.agent.destroy as (...a: unknown[]) => never)(...args)
  }
}

/**
 * One proxied request: it is undici's handler for each attempt (an instance
 * that could not be reached is tried no more), and hands everything on to the
 * request() handler it was given.
 */
class FailoverRequest implements Dispatcher.DispatchHandler {
  private readonly client: { readonly destroyed: boolean } | undefined
  /** Made only when an instance could not be reached (most requests never need it). */
  private tried: Set<string> | undefined
  /** The instance of the current attempt. */
  private origin = ''
  /** The current attempt was handed to a connection (its start reached the proxy's handler). */
  private started = false
  /** The proxy's handler has been given the start of the request, or its end (an error). */
  private handedOver = false
  private gaveUp: Error | undefined
  private queueTimer: NodeJS.Timeout | undefined

  constructor (
    private readonly via: FailoverDispatcher,
    private readonly opts: Dispatcher.DispatchOptions,
    private readonly handler: Dispatcher.DispatchHandler
  ) {
    this.client = (opts.headers as { [CLIENT_SOCKET]?: { readonly destroyed: boolean } } | null | undefined)?.[CLIENT_SOCKET]
  }

  start (): boolean {
    const accepted = this.attempt(String(this.opts.origin))
    // A GET on a free connection was written within dispatch() and needs no
    // timer; any other request has one until it starts.
    const timeoutMs = this.via.timeoutMs
    if (!this.handedOver && timeoutMs > 0) {
      this.queueTimer = setTimeout(() => {
        this.queueTimer = undefined
        this.gaveUp = new QueueTimeoutError(timeoutMs)
        this.handler.onError?.(this.gaveUp)
      }, timeoutMs)
    }
    return accepted
  }

  private settle (): void {
    if (this.queueTimer !== undefined) clearTimeout(this.queueTimer)
    this.queueTimer = undefined
  }

  private attempt (origin: string): boolean {
    this.started = false
    this.origin = origin
    const host = this.via.hostOf(origin)
    const opts = this.opts
    // reply-from already set the Host of the instance it picked: the first attempt goes as it is.
    const given = opts.headers as Record<string, unknown> | null | undefined
    const sameHost = String(opts.origin) === origin && given?.host === host && given.Host === undefined
    return this.via.send(sameHost ? opts : { ...opts, origin, headers: withHost(opts.headers, host) }, this)
  }

  onConnect (abort: (err?: Error) => void, context?: unknown): void {
    // Thrown, not abort(): undici then drops the request before writing it
    // and keeps the connection, where abort() would also close a healthy
    // pooled connection.
    if (this.gaveUp !== undefined) throw this.gaveUp
    if (this.client?.destroyed === true) throw new ClientGoneError()
    this.started = true
    this.handedOver = true
    this.settle()
    ;(this.handler.onConnect as (abort: (err?: Error) => void, context?: unknown) => void)(abort, context)
  }

  onResponseStarted (): void {
    this.handler.onResponseStarted?.()
  }

  onHeaders (statusCode: number, headers: Buffer[], resume: () => void, statusText: string): boolean {
    this.via.balancer.markUp(this.origin)
    return this.handler.onHeaders?.(statusCode, headers, resume, statusText) ?? true
  }

  onData (chunk: Buffer): boolean {
    return this.handler.onData?.(chunk) ?? true
  }

  onComplete (trailers: string[] | null): void {
    this.handler.onComplete?.(trailers)
  }

  onUpgrade (statusCode: number, headers: Buffer[] | string[] | null, socket: Duplex): void {
    this.handler.onUpgrade?.(statusCode, headers, socket)
  }

  onBodySent (chunkSize: number, totalBytesSent: number): void {
    this.handler.onBodySent?.(chunkSize, totalBytesSent)
  }

  onError (err: Error): void {
    // Already answered 504 when the queue timer fired.
    if (this.gaveUp !== undefined) return
    const code = (err as { code?: string }).code
    if (!this.started && code !== undefined && NOT_CONNECTED.has(code)) {
      const balancer = this.via.balancer
      balancer.markDown(this.origin)
      this.tried ??= new Set()
      this.tried.add(this.origin)
      const next = balancer.pick(this.tried)
      if (next !== undefined) {
        this.attempt(next.origin)
        return
      }
    }
    this.settle()
    this.handedOver = true
    this.handler.onError?.(err)
  }
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

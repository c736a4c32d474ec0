import type { IncomingHttpHeaders } from 'node:http'
import { Readable } from 'node:stream'
import type { FastifyReply as AnyReply, RawServerBase, RouteGenericInterface } from 'fastify'
import { errors, util, type Dispatcher } from 'undici'

/** The reply as reply-from's hooks type it (any server kind). */
export type FastifyReply = AnyReply<RouteGenericInterface, RawServerBase>

/**
 * Largest upstream answer body, in bytes, that is read whole before it is
 * sent on (nginx buffers answers too: `proxy_buffering on`, 8 × 8 KiB
 * buffers by default). Bounds the memory one answer holds.
 */
export const SMALL_ANSWER_BYTES = 64 * 1024

/**
 * A small answer's whole body, already read. It stands where reply-from
 * expects the answer's stream, which it only ever destroys (a client gone
 * before the answer came): there is nothing left to stop then.
 */
class WholeBody {
  constructor (readonly bytes: Buffer) {}
  destroy (): this { return this }
}

/** What undici's `request()` hands its callback, as reply-from reads it. */
interface UpstreamResponse {
  statusCode: number
  statusText: string
  headers: IncomingHttpHeaders
  body: Readable | WholeBody
  trailers: Record<string, string>
  opaque: unknown
  context: unknown
}

/** What reply-from hands its `onResponse` option: the service's answer, headers already copied onto the reply. */
export interface UpstreamAnswer {
  statusCode: number
  headers: IncomingHttpHeaders
  stream: Readable | WholeBody
}

type Callback = (err: Error | null, response?: UpstreamResponse) => void

/**
 * The gateway's `request()` for reply-from (undici's `Dispatcher#request`
 * signature, callback form). The difference from undici's own: a small
 * answer — a Content-Length of at most SMALL_ANSWER_BYTES, with a
 * Content-Type — is read whole before the callback gets it, as a WholeBody,
 * and sent on as one Buffer (sendUpstreamAnswer). Such an answer, the
 * common one, then costs no stream, no async-hooks scope and no listeners;
 * undici's request() makes a Readable and an AsyncResource for each
 * (measured: bench/FINDINGS.md, issue 16). An answer that breaks off or
 * stalls mid-body reaches the callback as undici's error, so its client gets
 * a 502 or 504 JSON, never a truncated body. Anything else (larger, unknown
 * length, no body: HEAD, 204, 304) is streamed as undici would.
 */
export function requestThrough (dispatcher: Dispatcher, opts: Dispatcher.RequestOptions, callback: Callback): void {
  const handler = new AnswerHandler(opts.method, callback, opts.opaque)
  try {
    dispatcher.dispatch(opts, handler)
  } catch (err) {
    queueMicrotask(() => { callback(err as Error) })
  }
}

/** One request's answer, as undici's classic handler interface delivers it. */
class AnswerHandler implements Dispatcher.DispatchHandler {
  private abort: ((err?: Error) => void) | undefined
  private context: unknown
  private statusCode = 0
  private statusText = ''
  private headers: IncomingHttpHeaders = {}
  /** A small answer's body so far; undefined when the answer is streamed. */
  private chunks: Buffer[] | undefined
  private received = 0
  private expected = 0
  private stream: AnswerStream | undefined

  constructor (
    private readonly method: string,
    private callback: Callback | undefined,
    private readonly opaque: unknown
  ) {}

  onConnect (abort: (err?: Error) => void, context?: unknown): void {
    this.abort = abort
    this.context = context
  }

  onHeaders (statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    // 1xx informational answers (103 Early Hints) are not passed on.
    if (statusCode < 200) return true
    const headers = util.parseHeaders(rawHeaders) as IncomingHttpHeaders
    this.statusCode = statusCode
    this.statusText = statusText
    this.headers = headers
    const length = Number(headers['content-length'])
    if (length > 0 && length <= SMALL_ANSWER_BYTES && headers['content-type'] !== undefined &&
      statusCode !== 204 && statusCode !== 304 && this.method !== 'HEAD') {
      this.chunks = []
      this.expected = length
      return true
    }
    this.stream = new AnswerStream(resume, this.abort)
    this.respond(this.stream)
    return true
  }

  onData (chunk: Buffer): boolean {
    if (this.chunks === undefined) return this.stream?.push(chunk) ?? true
    this.chunks.push(chunk)
    this.received += chunk.length
    return true
  }

  onComplete (): void {
    if (this.chunks === undefined) {
      this.stream?.complete()
      return
    }
    // undici completes a body only once it has its Content-Length; checked anyway.
    if (this.received !== this.expected) {
      return this.onError(Object.assign(new Error(`upstream body of ${this.received} bytes, ${this.expected} declared`), { code: 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' }))
    }
    const body = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.received)
    this.chunks = undefined
    this.respond(new WholeBody(body))
  }

  onError (err: Error): void {
    const callback = this.callback
    if (callback !== undefined) {
      this.callback = undefined
      // As undici does: never into the caller's code from inside its parser's error path.
      queueMicrotask(() => { callback(err) })
      return
    }
    this.stream?.fail(err)
  }

  private respond (body: Readable | WholeBody): void {
    const callback = this.callback
    if (callback === undefined) return
    this.callback = undefined
    try {
      callback(null, { statusCode: this.statusCode, statusText: this.statusText, headers: this.headers, body, trailers: {}, opaque: this.opaque, context: this.context })
    } catch (err) {
      // Thrown back into undici's parser, it would break the connection for
      // other requests: the answer is dropped and the error surfaces as
      // uncaught, as undici's own request() does.
      if (body instanceof AnswerStream) body.fail(err as Error)
      queueMicrotask(() => { throw err })
    }
  }
}

/**
 * A streamed answer's body: undici's connection is paused while the stream's
 * buffer is full and resumed when it is read. Destroyed before its end (the
 * client went away), it stops the upstream request.
 */
class AnswerStream extends Readable {
  private ended = false

  constructor (private readonly resumeUpstream: () => void, private readonly abortUpstream: ((err?: Error) => void) | undefined) {
    super({ highWaterMark: SMALL_ANSWER_BYTES })
  }

  override _read (): void {
    this.resumeUpstream()
  }

  complete (): void {
    this.ended = true
    this.push(null)
  }

  fail (err: Error): void {
    this.ended = true
    this.destroy(err)
  }

  override _destroy (err: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.ended) this.abortUpstream?.(err ?? new errors.RequestAbortedError())
    callback(err)
  }
}

/**
 * Sends a service's answer to the client: a WholeBody as one Buffer (Fastify
 * writes headers and body at once), a stream piped.
 */
export function sendUpstreamAnswer (reply: FastifyReply, answer: UpstreamAnswer): void {
  const { stream } = answer
  void reply.send(stream instanceof WholeBody ? stream.bytes : stream)
}

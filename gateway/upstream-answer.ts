import type { IncomingHttpHeaders } from 'node:http'
import type { Readable } from 'node:stream'
import type { FastifyReply as AnyReply, RawServerBase, RouteGenericInterface } from 'fastify'

/** The reply as reply-from's hooks type it (any server kind). */
export type FastifyReply = AnyReply<RouteGenericInterface, RawServerBase>

/**
 * Largest upstream answer body, in bytes, that is read whole before it is
 * sent on (nginx buffers answers too: `proxy_buffering on`, 8 × 8 KiB
 * buffers by default). Bounds the memory one answer holds.
 */
export const SMALL_ANSWER_BYTES = 64 * 1024

/** What reply-from hands its `onResponse` option: the service's answer, headers already copied onto the reply. */
export interface UpstreamAnswer {
  statusCode: number
  headers: IncomingHttpHeaders
  stream: Readable
}

/**
 * Sends a service's answer to the client. A small answer (a Content-Length
 * of at most SMALL_ANSWER_BYTES, with a Content-Type) is read whole and sent
 * as one Buffer: Fastify then writes headers and body at once, where piping
 * the stream costs two end-of-stream watchers, a pipe and its listeners per
 * request (measured: see bench/FINDINGS.md, issue 16). Anything else (larger,
 * unknown length, no body: HEAD, 204, 304) is streamed as before.
 *
 * When a small answer breaks off or stalls mid-body, nothing has been sent to
 * the client yet: `failed` answers it (a 502 or 504 JSON) in place of a
 * truncated body.
 */
export function sendUpstreamAnswer (reply: FastifyReply, answer: UpstreamAnswer, failed: (reply: FastifyReply, error: Error) => void): void {
  const { statusCode, headers, stream } = answer
  const length = Number(headers['content-length'])
  if (!(length > 0 && length <= SMALL_ANSWER_BYTES) || headers['content-type'] === undefined ||
    statusCode === 204 || statusCode === 304 || reply.request.method === 'HEAD') {
    void reply.send(stream)
    return
  }
  new WholeAnswer(reply, stream, length, failed).read()
}

/** One small answer being read: the listeners are this object's bound methods, no closure per chunk. */
class WholeAnswer {
  private readonly chunks: Buffer[] = []
  private received = 0
  private done = false

  constructor (
    private readonly reply: FastifyReply,
    private readonly stream: Readable,
    private readonly expected: number,
    private readonly failed: (reply: FastifyReply, error: Error) => void
  ) {}

  read (): void {
    this.stream.on('data', this.onData)
    this.stream.on('end', this.onEnd)
    this.stream.on('error', this.onError)
    this.stream.on('close', this.onClose)
  }

  private readonly onData = (chunk: Buffer): void => {
    this.received += chunk.length
    this.chunks.push(chunk)
  }

  private readonly onEnd = (): void => {
    if (this.done) return
    this.done = true
    const body = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.received)
    // undici ends a body only once it has its Content-Length; checked anyway, as a pipe would not have been.
    if (body.length !== this.expected) return this.fail(new Error(`upstream body of ${body.length} bytes, ${this.expected} declared`))
    void this.reply.send(body)
  }

  private readonly onError = (err: Error): void => {
    if (this.done) return
    this.done = true
    this.fail(err)
  }

  /** Closed without an end or an error: destroyed from elsewhere. */
  private readonly onClose = (): void => {
    if (this.done) return
    this.done = true
    this.fail(Object.assign(new Error('upstream body closed before its end'), { code: 'UND_ERR_SOCKET' }))
  }

  private fail (err: Error): void {
    this.reply.request.log.warn({ err }, 'upstream answer broke off before its end')
    // The service's headers were copied onto the reply: an error answer carries none of them.
    for (const name of Object.keys(this.reply.getHeaders())) if (name !== 'x-request-id') this.reply.removeHeader(name)
    this.failed(this.reply, err)
  }
}

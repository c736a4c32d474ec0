import type { IncomingMessage } from 'node:http'
import { Readable } from 'node:stream'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { BodyIncompleteError, BodyTimeoutError, BodyTooLargeError } from './errors.js'

/*
 * As nginx does by default (proxy_request_buffering on): a request body is
 * read whole, bounded in size and in time, before the request takes one of
 * the pool's connections to a service. A client that sends its body slowly,
 * or stops short of its Content-Length, costs the gateway one socket and a
 * timer, never an upstream connection.
 */

export interface BufferingOptions {
  /** Largest body, in bytes (GATEWAY_BODY_LIMIT): over it, 413. */
  limit: number
  /** Longest wait between two reads of the body, in ms (GATEWAY_BODY_TIMEOUT_MS): over it, 408 and close. */
  idleMs: number
}

/** A body read whole, sent to the service as it came, with its length known. */
export class BufferedBody extends Readable {
  readonly length: number
  constructor (private readonly bytes: Buffer) {
    super()
    this.length = bytes.length
  }

  override _read (): void {
    this.push(this.bytes)
    this.push(null)
  }
}

/**
 * The content-type parser for every type (the gateway never parses payment
 * bodies): the body as a Buffer, or an error the error handler answers — 413
 * over `limit`, 408 after `idleMs` without a byte, 400 when the client went
 * away mid-body. Each end is logged once.
 */
export function addBufferingParser (scope: FastifyInstance, opts: BufferingOptions): void {
  scope.addContentTypeParser('*', (req: FastifyRequest, payload: IncomingMessage, done: (err: Error | null, body?: Buffer) => void) => {
    const chunks: Buffer[] = []
    let received = 0
    let finished = false
    const finish = (err: Error | null, body?: Buffer): void => {
      if (finished) return
      finished = true
      clearTimeout(timer)
      payload.off('data', onData)
      payload.off('end', onEnd)
      payload.off('error', onGone)
      payload.off('close', onGone)
      if (err !== null) {
        req.log.warn({ motivo: err.message, code: (err as { code?: string }).code, recibidos: received, declarados: req.headers['content-length'] }, 'request body not read')
        // Nothing more is read from it: the answer (if the client is still there) closes the connection.
        payload.pause()
      }
      done(err, body)
    }
    const timer = setTimeout(() => finish(new BodyTimeoutError()), opts.idleMs)
    const onData = (chunk: Buffer): void => {
      received += chunk.length
      if (received > opts.limit) return finish(new BodyTooLargeError())
      chunks.push(chunk)
      timer.refresh()
    }
    const onEnd = (): void => finish(null, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, received))
    // The client closed or reset its connection before the body's end.
    const onGone = (): void => finish(new BodyIncompleteError())
    payload.on('data', onData)
    payload.on('end', onEnd)
    payload.on('error', onGone)
    payload.on('close', onGone)
  })
}

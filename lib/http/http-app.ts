import { randomUUID } from 'node:crypto'
import type { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import Fastify, { type FastifyError, type FastifyRequest, type HookHandlerDoneFunction, type preValidationHookHandler, type LogController, type FastifyReply, type FastifyInstance, type FastifyBaseLogger, type RawServerDefault, type RawRequestDefaultExpression, type RawReplyDefaultExpression } from 'fastify'
import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Logger } from 'pino'
import { OneLinePerRequest } from './request-log.js'
import { duplicateMember, fieldBefore, inexactNumber, isWellFormedMediaType, repeatedHeader, validationAnswer, type ValidationAnswer, type ValidationIssue } from './validation.js'
import { methodNotAllowed } from './method-not-allowed.js'
import { isDatabaseUnavailable } from '../storage/unavailable.js'
import {
  AsteriskFormError, CharsetNotSupportedError, HttpVersionNotSupportedError, InvalidHostError, InvalidJsonError, TransferCodingNotImplementedError, DatabaseUnavailableError, EncodingNotSupportedError, errorBody, ExpectNotSupportedError, frameworkErrorBody, HeadersTooLargeError, InternalError, MalformedRequestError,
  MediaTypeNotSupportedError, MethodNotAllowedError, MissingHostError, RequestTimeoutError, RouteNotFoundError, ShuttingDownError, UrlTooLongError, ValidationError
} from './errors.js'

export type App = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>

export const BODY_LIMIT = 64 * 1024
/** Longest request target (path and query), in characters: nginx's 8 KiB request-line buffer answers 414 above it. */
export const MAX_URL_LENGTH = 8 * 1024
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/
const CONTENT_TYPE: ReadonlySet<string> = new Set(['content-type'])

/*
 * Answers Node's HTTP server gives before any route runs (the parser's 400 and
 * 431, the headers timeout's 408, an Expect it does not know): each written by
 * hand, in the same JSON shape as every other error, then the connection closes.
 */
const CLIENT_ERRORS: Record<string, { status: number, reason: string, error: string, code: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, reason: 'Request Timeout', ...errorBody(new RequestTimeoutError()) },
  HPE_HEADER_OVERFLOW: { status: 431, reason: 'Request Header Fields Too Large', ...errorBody(new HeadersTooLargeError()) }
}
const MALFORMED = { status: 400, reason: 'Bad Request', ...errorBody(new MalformedRequestError()) }
/* Bodies answered from hooks, built once. */
const MISSING_HOST = errorBody(new MissingHostError())
const ASTERISK_FORM = errorBody(new AsteriskFormError())
const INVALID_HOST = errorBody(new InvalidHostError())
const TRANSFER_CODING = errorBody(new TransferCodingNotImplementedError())
const HTTP_VERSION = errorBody(new HttpVersionNotSupportedError())
// RFC 3986 host (reg-name, IPv4, or an IP literal in brackets) and an optional port; empty is allowed (RFC 9112 §3.2).
const HOST = /^(?:\[[0-9A-Za-z:.%~_-]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]*)?$/
const SHUTTING_DOWN = errorBody(new ShuttingDownError())
const URL_TOO_LONG = errorBody(new UrlTooLongError())
const METHOD_NOT_ALLOWED = errorBody(new MethodNotAllowedError())
const ROUTE_NOT_FOUND = errorBody(new RouteNotFoundError())
const INTERNAL = errorBody(new InternalError())
const DATABASE_UNAVAILABLE = errorBody(new DatabaseUnavailableError())
/** Seconds a client waits before retrying while the database is away (a PostgreSQL restart takes about that). */
const DATABASE_RETRY_AFTER_S = '1'

/** A whole HTTP/1.1 answer with a JSON error body and `Connection: close`. */
export function rawJsonAnswer (status: number, reason: string, body: { error: string, code: string }): string {
  const json = JSON.stringify(body)
  return `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`
}

/**
 * Answers on a raw ServerResponse, where Node's server events ('checkExpectation',
 * 'checkContinue') run before Fastify: the JSON error shape, then close.
 */
export function writeJsonError (res: ServerResponse, status: number, body: { error: string, code: string }, headers: Record<string, string> = {}): void {
  const json = JSON.stringify(body)
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(json), connection: 'close' })
  res.end(json)
}

/** Timeouts of the client side of the server, in ms (lib/http/http-app.ts leaves Node's and Fastify's defaults without them). */
export interface ClientTimeouts {
  /** From a request's first byte until its headers are complete: over it, 408 JSON and close. */
  headersMs: number
  /** An idle keep-alive connection is closed after this long. */
  keepAliveMs: number
}

/** Longest wait, in ms, for the answers a connection still owes before its client error is answered and it is closed. */
export const IN_FLIGHT_WAIT_MS = 30_000

type ServerSocket = Socket & { _httpMessage?: ServerResponse | null }

/** Connections whose client error is being answered. */
const answering = new WeakSet<Socket>()

/**
 * Answers a client error (Node's parser refused the bytes after a request, or
 * the next request's headers timed out) with `text` and closes the
 * connection — after the answers it already owes. A valid request sent just
 * before the bad bytes (pipelined on the same connection) has been parsed
 * and is being carried out: a payment, say. Closing at once would lose its
 * answer, and a client told only "400" may pay again (found by a
 * newcomer: 16 of 20 tries). So each answer still in flight is let finish
 * (Node hands the socket to the next pipelined answer as one finishes), then
 * the error goes, then the close. At most IN_FLIGHT_WAIT_MS; an answer that
 * was cut off mid-way is never followed by the error text.
 */
function answerAfterInFlight (socket: ServerSocket, text: string): void {
  // One error answer per connection, however many errors more bytes raise while it waits.
  if (answering.has(socket)) return
  answering.add(socket)
  const giveUp = setTimeout(() => { socket.destroy() }, IN_FLIGHT_WAIT_MS)
  giveUp.unref()
  const step = (): void => {
    if (socket.destroyed) {
      clearTimeout(giveUp)
      return
    }
    const pending = socket._httpMessage
    // Only the answer to a request read whole is coming; one whose body the
    // error cut (or the client left) never will, and is not waited for.
    if (pending !== undefined && pending !== null && !pending.writableFinished && pending.req.complete) {
      let moved = false
      const next = (): void => {
        if (moved) return
        moved = true
        setImmediate(step)
      }
      pending.once('finish', next)
      pending.once('close', next)
      return
    }
    clearTimeout(giveUp)
    // Unless part of an unfinished answer already went out on this connection.
    if (socket.writable && (pending === undefined || pending === null || pending.writableFinished || !pending.headersSent)) socket.write(text)
    socket.destroy()
  }
  step()
}

/** A request id from the caller (the gateway) is kept; otherwise one is made. */
export function requestIdFrom (header: string | string[] | undefined): string {
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID()
}

/**
 * The Fastify instance every service starts from: TypeBox types, JSON-only
 * errors `{error, code}` with no stack trace, x-request-id in and out
 * (logged as `requestId` on every line of the request).
 * What the stack answers on its own has the same shape: Node's parser (400,
 * 431) and headers timeout (408), an unknown Expect (417), a URL over
 * MAX_URL_LENGTH (414), a request during shutdown (503), a known path
 * with another method (405 with Allow), a compressed body (415), and a
 * header a route declares sent twice (400). `timeouts` (the gateway's) bound
 * slow headers and idle keep-alive connections; without them Node's and
 * Fastify's defaults stay.
 *
 * Validation uses TypeBox's compiled checker instead of Ajv: it never coerces
 * a JSON body (`"monto": true` must not become 1); money and text are checked
 * by the exact refinements of contracts/money.ts and contracts/text.ts; path
 * and query values are converted from strings. A refused request is a 400
 * `{error: "Datos inválidos", code: "VALIDACION", campo, detalle}` in Spanish
 * (lib/http/validation.ts).
 */
export function createHttpApp (logger: Logger, bodyLimit = BODY_LIMIT, logController: LogController = new OneLinePerRequest(), timeouts?: ClientTimeouts): App {
  const app = Fastify({
    ...(timeouts === undefined ? {} : { keepAliveTimeout: timeouts.keepAliveMs }),
    http: {
      // Node answers an HTTP/1.1 request without Host with an empty 400 of
      // its own: the onRequest hook below answers it in JSON instead.
      requireHostHeader: false,
      // Node checks the headers timeout every connectionsCheckingInterval (30 s by default): often enough to keep the bound.
      ...(timeouts === undefined ? {} : { headersTimeout: timeouts.headersMs, connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(timeouts.headersMs / 4))) })
    },
    clientErrorHandler (this: FastifyInstance, err, socket: Socket) {
      // A reset connection, or one already gone: nobody to answer.
      if (err.code === 'ECONNRESET' || socket.destroyed) return
      const answer = CLIENT_ERRORS[err.code] ?? MALFORMED
      this.log.warn({ code: err.code, status: answer.status, remoteAddress: socket.remoteAddress }, 'client error, connection closed')
      answerAfterInFlight(socket, rawJsonAnswer(answer.status, answer.reason, { error: answer.error, code: answer.code }))
    },
    loggerInstance: logger as FastifyBaseLogger,
    logController,
    bodyLimit,
    genReqId: (req) => requestIdFrom(req.headers['x-request-id']),
    // A path parameter longer than any request line Node takes (its 16 KiB
    // header limit): a long one is refused by its schema (VALIDACION naming
    // it) or the URL by its length (414), never by the router's own
    // FST_ERR_MAX_PARAM_LENGTH (100 characters by default).
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 64 * 1024 },
    // Errors raised before routing (a malformed URL) skip the error handler.
    frameworkErrors: (err, req, reply) => {
      reply.header('x-request-id', req.id)
      void (reply as FastifyReply).code(400).send(frameworkErrorBody(err.code) ?? { error: 'Petición inválida', code: err.code })
    },
    // Fastify's own 503 while closing is English and has no code: the onRequest hook below answers it.
    return503OnClosing: false
  }).withTypeProvider<TypeBoxTypeProvider>()
  app.setValidatorCompiler(TypeBoxValidatorCompiler)
  // JSON only: a text/plain body is a 415 like any other non-JSON type.
  app.removeContentTypeParser('text/plain')

  // Bodies are taken as sent, never decompressed: a Content-Encoding other
  // than identity is a 415 (RFC 9110 §15.5.16), so neither a gzip body nor
  // a plain one mislabelled gzip is read as something it is not. Then they
  // are decoded as strict UTF-8 (JSON's only encoding, RFC 8259):
  // another declared charset is a 415 and invalid bytes a 400 naming the
  // field they are in, never replaced by U+FFFD. The original accepted
  // `curl -X POST -H 'Content-Type: application/json'` with no body: an
  // empty JSON body is treated as no body. A Content-Type that is not a
  // well-formed media type (`application/json; charset`) is a 415 like any
  // type not JSON, and an object naming a member twice a 400.
  const json = app.getDefaultJsonParser('error', 'error')
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    if (!isIdentityCoding(req.headers['content-encoding'])) return done(ENCODING_NOT_SUPPORTED(), undefined)
    if (!isWellFormedMediaType(req.headers['content-type'] ?? '')) return done(ClientError.of(new MediaTypeNotSupportedError()), undefined)
    const decoded = decodeUtf8Body(req.headers['content-type'], body as Buffer)
    if (decoded instanceof ClientError) return done(decoded, undefined)
    // Empty, not blank: a body of only whitespace, or only a byte order mark
    // (which decoding drops), is not JSON; both had paid the default amount.
    if ((body as Buffer).length === 0) return done(null, undefined)
    if (decoded === '') return done(ClientError.of(new InvalidJsonError()), undefined)
    json(req, decoded, (err, value) => {
      // Money is decided on the digits the client wrote: a number JSON.parse
      // had to round (more digits than a double holds) is refused, not taken
      // as its neighbour; and on one reading: a member named twice is refused.
      const refused = err === null ? inexactNumber(decoded) ?? duplicateMember(decoded) : undefined
      if (refused !== undefined) return done(ClientError.ofAnswer(refused), undefined)
      done(err, value)
    })
  })

  // Node answers 417 as plain text to an Expect other than 100-continue.
  app.server.on('checkExpectation', (req, res) => {
    app.log.warn({ expect: req.headers.expect }, 'unsupported Expect, answered 417')
    writeJsonError(res, 417, errorBody(new ExpectNotSupportedError()))
  })

  // CONNECT (a proxy tunnel) reaches no route: without a listener Node just
  // drops the connection. It is a 405 like any other method a path lacks.
  app.server.on('connect', (req, socket) => {
    app.log.warn({ url: req.url }, 'CONNECT refused, answered 405')
    socket.end(rawJsonAnswer(405, 'Method Not Allowed', METHOD_NOT_ALLOWED))
  })

  // From the start of a graceful shutdown, a request that still arrives (on a
  // kept-alive connection) is refused with a 503 and the connection closed.
  let closing = false
  // The routes' methods, for a 405's Allow and the answer to `OPTIONS *`.
  const knownMethods = methodNotAllowed(app)
  app.addHook('preClose', (done) => {
    closing = true
    done()
  })

  // Callback hooks, not async ones: no promise per request on every route.
  // admit: what every request must be before any route runs.
  const admit = (req: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    reply.header('x-request-id', req.id)
    if (req.raw.httpVersionMajor !== 1) {
      void reply.code(505).header('connection', 'close').send(HTTP_VERSION)
      return
    }
    // RFC 9112 §3.2: an HTTP/1.1 request without Host, with two Host lines
    // (Node keeps the first) or with one that names no host is a 400.
    const host = req.headers.host
    if (host === undefined ? req.raw.httpVersion === '1.1' : !HOST.test(host) || hostLines(req.raw.rawHeaders) > 1) {
      void reply.code(400).header('connection', 'close').send(host === undefined ? MISSING_HOST : INVALID_HOST)
      return
    }
    // RFC 9112 §6.1: a transfer coding the server does not know is a 501; Node
    // would undo the chunked one and read the rest (`gzip, chunked`) as plain.
    const te = req.headers['transfer-encoding']
    if (te !== undefined && te.trim().toLowerCase() !== 'chunked') {
      void reply.code(501).header('connection', 'close').send(TRANSFER_CODING)
      return
    }
    if (closing) {
      void reply.code(503).header('connection', 'close').send(SHUTTING_DOWN)
      return
    }
    // RFC 9112 §3.2.4: the asterisk form (`OPTIONS * HTTP/1.1`) asks about
    // the server as a whole, and only OPTIONS may use it; no route has `*`.
    if (req.url === '*') {
      if (req.method === 'OPTIONS') void reply.code(204).header('allow', knownMethods.all()).send()
      else void reply.code(400).send(ASTERISK_FORM)
      return
    }
    if (req.url.length > MAX_URL_LENGTH) {
      void reply.code(414).send(URL_TOO_LONG)
      return
    }
    done()
  }
  // A request pipelined behind one still being answered on its connection
  // waits for that answer before anything of it runs: Node would run both at
  // once (answering in order), and a payment pipelined after a top-up was
  // refused, or paid, from a balance the top-up had not yet reached (RFC 9112
  // §9.3.2 allows parallel work only for safe methods; every pipelined
  // request is serialized, the simple rule). Node gives a queued answer its
  // socket, and says so, once the one before it has finished.
  app.addHook('onRequest', (req, reply, done) => {
    if (reply.raw.socket === null) reply.raw.once('socket', () => { admit(req, reply, done) })
    else admit(req, reply, done)
  })
  // A header a route declares in its schema (Idempotency-Key) is read once:
  // sent twice, it is a 400 saying so, before anything is done. Only routes
  // that declare headers pay for the look at the raw header lines.
  app.addHook('onRoute', (route) => {
    const declared = (route.schema?.headers as { properties?: Record<string, unknown> } | undefined)?.properties
    if (declared === undefined) return
    const names: ReadonlySet<string> = new Set(Object.keys(declared).map((n) => n.toLowerCase()))
    const once: preValidationHookHandler = (req, reply, done) => {
      const repeated = repeatedHeader(req.raw.rawHeaders, names)
      if (repeated === undefined) done()
      else void reply.code(400).send(repeated)
    }
    route.preValidation = [once, ...(route.preValidation === undefined ? [] : [route.preValidation].flat())]
  })
  // A POST with no body at all (plain `curl -X POST`) is validated as `{}`,
  // so optional bodies work and required fields are named in the error.
  // A route that takes a body refuses an encoded one here too, whatever its
  // Content-Type and even empty: the JSON parser sees only JSON bodies, and a
  // gzip-labelled empty POST had paid the default amount.
  // Content-Type is one value (RFC 9110 §5.3): Node keeps the first of two
  // lines, a proxy before it may keep the last, so two are a 400. Such a
  // route that declares no query takes none: `pagar?monto=5` had paid the
  // default amount, the query unread; its data goes in the body.
  app.addHook('preValidation', (req, _reply, done) => {
    const schema = req.routeOptions.schema
    if (schema?.body !== undefined) {
      if (!isIdentityCoding(req.headers['content-encoding'])) return done(ENCODING_NOT_SUPPORTED())
      const repeated = repeatedHeader(req.raw.rawHeaders, CONTENT_TYPE)
      if (repeated !== undefined) return done(ClientError.ofAnswer(repeated))
      if (schema.querystring === undefined) {
        const campo = Object.keys(req.query as object)[0]
        if (campo !== undefined) return done(ClientError.of(new ValidationError(), { campo, detalle: `\`${campo}\` no es un parámetro de esta operación: los datos van en el cuerpo JSON` }))
      }
      if (req.body === undefined) req.body = {}
    }
    done()
  })

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err.validation) {
      return reply.code(400).send(validationAnswer(err.validation as ValidationIssue[], err.validationContext))
    }
    if (err instanceof ClientError) return reply.code(err.statusCode).headers(err.headers).send({ error: err.message, code: err.code, ...err.extra })
    const status = err.statusCode ?? 500
    // A body that was not read to its end (too large, too slow) leaves the connection unusable.
    if (status === 408 || status === 413) reply.header('connection', 'close')
    if (status >= 400 && status < 500) {
      return reply.code(status).send(frameworkErrorBody(err.code) ?? { error: err.message, code: err.code })
    }
    if (isDatabaseUnavailable(err)) {
      req.log.warn({ err: { message: err.message, code: err.code } }, 'database unavailable')
      return reply.code(503).header('retry-after', DATABASE_RETRY_AFTER_S).send(DATABASE_UNAVAILABLE)
    }
    req.log.error({ err }, 'request failed')
    return reply.code(status >= 500 && status < 600 ? status : 500).send(INTERNAL)
  })

  // A known path with a method it does not have is a 405 with Allow; any other is a 404.
  const notFound = (req: FastifyRequest, reply: FastifyReply): void => {
    const allow = knownMethods.allowedFor(req.method, req.url)
    if (allow !== undefined) {
      void reply.code(405).header('allow', allow).send(METHOD_NOT_ALLOWED)
      return
    }
    void reply.code(404).send(ROUTE_NOT_FOUND)
  }
  // Answered before the body is read: a body that is not JSON, too large or
  // of another type must not hide the 404 or 405 (`PUT /usuarios/1` with a
  // bad body had been a 400 JSON_INVALIDO). Node reads and drops the body.
  app.addHook('preParsing', (req, reply, payload, done) => {
    if (req.is404) notFound(req, reply)
    else done(null, payload)
  })
  app.setNotFoundHandler(notFound)
  return app
}

/** A 4xx the service answers as `{error, code, ...extra}` (with `headers`): an error of lib/http/errors.ts with the fields it adds. */
export class ClientError extends Error {
  constructor (readonly statusCode: number, readonly code: string, message: string, readonly extra: Record<string, unknown> = {}, readonly headers: Record<string, string> = {}) {
    super(message)
  }

  /** `err` (a catalogue error: code, message, status) answered with `extra` fields. */
  static of (err: { statusCode?: number, code: string, message: string }, extra: Record<string, unknown> = {}): ClientError {
    return new ClientError(err.statusCode ?? 400, err.code, err.message, extra)
  }

  /** A 400 VALIDACION worded by lib/http/validation.ts, thrown from a hook or parser: answered as that body. */
  static ofAnswer ({ error, code, ...extra }: ValidationAnswer): ClientError {
    return new ClientError(400, code, error, extra)
  }
}

/** How many raw header lines name Host (Node keeps the first of several). */
function hostLines (rawHeaders: readonly string[]): number {
  let n = 0
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!
    if (name.length === 4 && name.toLowerCase() === 'host') n++
  }
  return n
}

/** The 415 for a compressed (or otherwise encoded) body: Accept-Encoding names the one coding taken (RFC 9110 §12.5.3). */
const ENCODING_NOT_SUPPORTED = (): ClientError => {
  const err = new EncodingNotSupportedError()
  return new ClientError(415, err.code, err.message, {}, { 'accept-encoding': 'identity' })
}

/**
 * Whether a request's Content-Encoding leaves its body as sent: absent, or
 * only `identity` (any case, also repeated in a list). Any other coding,
 * alone or in a list (`gzip, identity`), is one the services do not decode.
 */
export function isIdentityCoding (header: string | undefined): boolean {
  if (header === undefined) return true
  for (const coding of header.split(',')) {
    const c = coding.trim()
    if (c !== '' && c.toLowerCase() !== 'identity') return false
  }
  return true
}

const UTF8 = /^"?utf-?8"?$/i
const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * A JSON body as text: only UTF-8 (a `charset` parameter naming another
 * encoding, even beside one naming UTF-8, is a 415 — such a body is
 * refused, not transcoded), and only valid
 * UTF-8 (a 400 naming the field whose string holds the first bad byte). A
 * leading byte order mark is dropped.
 */
export function decodeUtf8Body (contentType: string | undefined, body: Buffer): string | ClientError {
  // Every charset parameter: given twice (`charset=utf-8; charset=latin1`),
  // another reader may take the other one, so each must name UTF-8.
  for (const [, charset] of (contentType ?? '').matchAll(/;\s*charset\s*=\s*("[^"]*"|[^;\s]*)/gi)) {
    if (!UTF8.test(charset!)) return ClientError.of(new CharsetNotSupportedError())
  }
  try {
    return strictUtf8.decode(body)
  } catch {
    const at = firstInvalidUtf8(body)
    const before = strictUtf8.decode(body.subarray(0, Math.max(at, 0)))
    const campo = fieldBefore(before, true)
    return ClientError.of(new ValidationError(), campo === undefined
      ? { detalle: 'el cuerpo no es UTF-8 válido' }
      : { campo, detalle: `\`${campo}\` no es UTF-8 válido` })
  }
}

/** Offset of the first byte that does not start a well-formed UTF-8 sequence (Unicode table 3-7), or -1. */
export function firstInvalidUtf8 (b: Uint8Array): number {
  let i = 0
  while (i < b.length) {
    const c = b[i]!
    if (c < 0x80) { i++; continue }
    let more: number
    let lo = 0x80
    let hi = 0xbf
    if (c >= 0xc2 && c <= 0xdf) {
      more = 1
    } else if (c >= 0xe0 && c <= 0xef) {
      more = 2
      if (c === 0xe0) lo = 0xa0
      if (c === 0xed) hi = 0x9f
    } else if (c >= 0xf0 && c <= 0xf4) {
      more = 3
      if (c === 0xf0) lo = 0x90
      if (c === 0xf4) hi = 0x8f
    } else {
      return i
    }
    if (i + more >= b.length) return i
    const second = b[i + 1]!
    if (second < lo || second > hi) return i
    for (let k = 2; k <= more; k++) if (b[i + k]! < 0x80 || b[i + k]! > 0xbf) return i
    i += more + 1
  }
  return -1
}

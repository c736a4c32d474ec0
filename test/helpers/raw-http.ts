import { connect, type Socket } from 'node:net'
import { waitFor } from './poll.js'

/** A client that writes raw bytes and sees raw bytes: for what fetch will not send. */
export interface RawClient {
  socket: Socket
  write: (text: string | Buffer) => void
  /** Everything received so far, as latin1 text. */
  received: () => string
  /** True once the server closed (or reset) the connection. */
  closed: () => boolean
  /** Waits, at most `timeoutMs`, until the server has closed the connection; the time it took from `since`. */
  waitClosed: (timeoutMs: number, since?: number) => Promise<number>
  /** Waits, at most `timeoutMs`, until `pattern` shows in what was received. */
  waitText: (pattern: RegExp, timeoutMs?: number) => Promise<RegExpExecArray>
}

/** Opens a connection to `base` (http://host:port); destroyed at teardown. */
export async function rawClient (t: { teardown: (fn: () => void) => void }, base: string): Promise<RawClient> {
  const { hostname, port } = new URL(base)
  const socket = connect(Number(port), hostname)
  socket.setNoDelay(true)
  let text = ''
  let closed = false
  socket.on('data', (chunk: Buffer) => { text += chunk.toString('latin1') })
  socket.on('error', () => { closed = true })
  socket.on('close', () => { closed = true })
  t.teardown(() => socket.destroy())
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject))
  return {
    socket,
    write: (data) => { socket.write(data) },
    received: () => text,
    closed: () => closed,
    async waitClosed (timeoutMs, since = performance.now()) {
      await waitFor('the server to close the connection', () => closed, { timeoutMs, intervalMs: 10 })
      return performance.now() - since
    },
    async waitText (pattern, timeoutMs = 5_000) {
      return await waitFor(`${String(pattern)} in the answer`, () => pattern.exec(text) ?? undefined, { timeoutMs, intervalMs: 10 })
    }
  }
}

export interface RawAnswer {
  status: number
  headers: Record<string, string>
  body: string
}

/** The first HTTP answer in `text` after any 1xx ones (headers lower-cased; a Content-Length body). */
export function parseAnswer (text: string): RawAnswer {
  let rest = text
  for (;;) {
    const end = rest.indexOf('\r\n\r\n')
    if (end === -1) throw new Error(`no complete answer in ${JSON.stringify(text.slice(0, 300))}`)
    const [statusLine, ...lines] = rest.slice(0, end).split('\r\n')
    const status = Number(statusLine!.split(' ')[1])
    const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]))
    rest = rest.slice(end + 4)
    if (status >= 100 && status < 200) continue
    const length = headers['content-length'] === undefined ? rest.length : Number(headers['content-length'])
    return { status, headers, body: Buffer.from(rest, 'latin1').subarray(0, length).toString('utf8') }
  }
}

/** Every HTTP answer in `text`, in order (after any 1xx; Content-Length bodies): what a client reads off a connection it pipelined on. */
export function parseAnswers (text: string): RawAnswer[] {
  const out: RawAnswer[] = []
  let rest = text
  while (rest.includes('\r\n\r\n')) {
    const answer = parseAnswer(rest)
    out.push(answer)
    rest = rest.slice(rest.indexOf('\r\n\r\n') + 4 + Buffer.byteLength(answer.body))
  }
  return out
}

import { readFileSync } from 'node:fs'
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http'
import { connect, type Socket } from 'node:net'

/**
 * A small forward HTTP proxy that lets a container without a route out reach
 * the package registries and nothing else: plain HTTP GET/HEAD to the allowed
 * hosts on port 80 (apt's `Acquire::http::Proxy`), and CONNECT tunnels to the
 * allowed hosts on port 443 (npm's `https-proxy`). Anything else is a 403 and
 * is recorded in `refused` (e.g. better-sqlite3 asking GitHub for a prebuilt
 * binary, which then compiles from source).
 */
export interface RegistryProxy {
  /** http://HOST:PORT, to put in apt's and npm's proxy settings. */
  url: string
  /** Hosts a request may go to. */
  allowed: Set<string>
  /** "METHOD host:port" of every refused request, in order. */
  refused: string[]
  /** Count of requests and tunnels forwarded. */
  forwarded: () => number
  close: () => Promise<void>
}

/**
 * The hosts of the host machine's apt mirrors: every `URIs:` of
 * /etc/apt/sources.list.d/*.sources we know of, and `deb http://...` lines of
 * /etc/apt/sources.list. Missing files are skipped.
 */
export function aptMirrorHosts (files = ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list']): string[] {
  const hosts = new Set<string>()
  for (const file of files) {
    let text: string
    try { text = readFileSync(file, 'utf8') } catch { continue }
    for (const m of text.matchAll(/^(?:URIs:|deb(?:-src)?(?:\s+\[[^\]]*\])?)\s+(.+)$/gm)) {
      for (const uri of (m[1] ?? '').trim().split(/\s+/)) {
        try { hosts.add(new URL(uri).hostname) } catch {}
      }
    }
  }
  return [...hosts]
}

/**
 * Starts the proxy on `host`:`port` (0: a free port). `allow`: host names
 * (exact, lower case) that may be reached. Resolves once it listens.
 */
export async function startRegistryProxy (host: string, allow: string[], port = 0): Promise<RegistryProxy> {
  const allowed = new Set(allow.map((h) => h.toLowerCase()))
  const refused: string[] = []
  const open = new Set<Socket>()
  let forwarded = 0

  const refuse = (what: string, res: ServerResponse | Socket): void => {
    refused.push(what)
    if ('writeHead' in res) {
      res.writeHead(403, { 'content-type': 'text/plain', connection: 'close' })
      res.end(`proxy: ${what} is not a package registry\n`)
    } else {
      res.end('HTTP/1.1 403 Forbidden\r\nconnection: close\r\n\r\n')
    }
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let target: URL
    try { target = new URL(req.url ?? '') } catch { refuse(`${req.method ?? '?'} ${req.url ?? ''}`, res); return }
    const what = `${req.method ?? '?'} ${target.hostname}:${target.port || '80'}`
    if (target.protocol !== 'http:' || (target.port !== '' && target.port !== '80') || !allowed.has(target.hostname.toLowerCase()) || !['GET', 'HEAD'].includes(req.method ?? '')) {
      refuse(what, res)
      return
    }
    forwarded++
    const headers = { ...req.headers }
    delete headers['proxy-connection']
    const upstream = request({ host: target.hostname, port: 80, method: req.method, path: target.pathname + target.search, headers, timeout: 60_000 }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers)
      up.pipe(res)
    })
    upstream.on('timeout', () => upstream.destroy(new Error('upstream timeout')))
    upstream.on('error', () => { if (!res.headersSent) res.writeHead(502); res.end() })
    req.pipe(upstream)
  })

  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    open.add(client)
    client.on('close', () => open.delete(client))
    client.on('error', () => {})
    const [name, portText] = (req.url ?? '').split(':')
    const what = `CONNECT ${name}:${portText}`
    if (portText !== '443' || !allowed.has((name ?? '').toLowerCase())) {
      refuse(what, client)
      return
    }
    forwarded++
    const upstream = connect(443, name, () => {
      client.write('HTTP/1.1 200 Connection established\r\n\r\n')
      if (head.length > 0) upstream.write(head)
      upstream.pipe(client)
      client.pipe(upstream)
    })
    open.add(upstream)
    upstream.on('close', () => { open.delete(upstream); client.destroy() })
    upstream.on('error', () => client.destroy())
    client.on('close', () => upstream.destroy())
  })
  server.on('connection', (s: Socket) => { open.add(s); s.on('close', () => open.delete(s)) })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve())
  })
  const address = server.address() as { port: number }
  return {
    url: `http://${host}:${address.port}`,
    allowed,
    refused,
    forwarded: () => forwarded,
    async close () {
      for (const s of open) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

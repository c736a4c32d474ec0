import http from 'node:http'

/* Bookkeeping requests of the bench (not the measured load): keep-alive, JSON. */

const defaultAgent = new http.Agent({ keepAlive: true, maxSockets: 32 })

export interface JsonResponse { status: number, json: any }

/** A JSON request over a keep-alive pool (lighter than fetch: the client shares the cores with what it measures). */
export async function requestJson (url: string, method = 'GET', body?: unknown, headers: Record<string, string> = {}, agent: http.Agent = defaultAgent): Promise<JsonResponse> {
  const payload = body === undefined ? undefined : JSON.stringify(body)
  return await new Promise((resolve, reject) => {
    const req = http.request(url, {
      method,
      agent,
      headers: payload === undefined ? headers : { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
    }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { text += c })
      res.on('end', () => {
        let json: unknown
        try { json = JSON.parse(text) } catch { json = text }
        resolve({ status: res.statusCode ?? 0, json })
      })
    })
    req.setTimeout(30_000, () => req.destroy(new Error(`timeout: ${method} ${url}`)))
    req.on('error', reject)
    req.end(payload)
  })
}

export async function getJson (url: string, headers: Record<string, string> = {}): Promise<any> {
  const r = await requestJson(url, 'GET', undefined, headers)
  if (r.status !== 200) throw new Error(`GET ${url}: ${r.status} ${JSON.stringify(r.json)}`)
  return r.json
}

/** At most `limit` calls of `fn` at once over `items`, results in order. */
export async function mapLimit<T, R> (items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i]!)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return out
}

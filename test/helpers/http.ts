export interface JsonResponse<T = any> {
  status: number
  headers: Headers
  body: T
}

/** A JSON call as curl would make it: no body means no content-type. */
export async function call<T = any> (method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<JsonResponse<T>> {
  const init: RequestInit = { method, headers: { ...headers } }
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body)
    init.headers = { 'content-type': 'application/json', ...headers }
  }
  const res = await fetch(url, init)
  const text = await res.text()
  let parsed: unknown = text
  try { parsed = JSON.parse(text) } catch { /* not JSON: the test will say so */ }
  return { status: res.status, headers: res.headers, body: parsed as T }
}

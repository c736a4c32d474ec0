/* The gateway's own JSON API, as the dashboard calls it (with the API key when one is kept). */

import { errorText } from './errores.js'
import { state } from './state.js'

/** A call that did not succeed: `status` (0 when the gateway is unreachable), a Spanish message for the page, the body. */
export class ApiError extends Error {
  constructor (status, message, body) {
    super(message)
    this.status = status
    this.body = body
  }
}

/** One call to the gateway: { status, body }. Never throws for an HTTP status; 0 when unreachable. */
export async function request (method, path, payload, extraHeaders) {
  const headers = Object.assign({ accept: 'application/json' }, extraHeaders)
  if (state.apiKey !== '') headers.authorization = 'Bearer ' + state.apiKey
  const init = { method, headers, cache: 'no-store' }
  if (payload !== undefined) {
    headers['content-type'] = 'application/json'
    init.body = JSON.stringify(payload)
  }
  let res
  try {
    res = await fetch(path, init)
  } catch (err) {
    return { status: 0, body: null }
  }
  const body = await res.json().catch(() => null)
  return { status: res.status, body }
}

/** The body of a 2xx answer; anything else throws an ApiError whose message the page shows as it is (errores.js). */
export async function api (method, path, payload, extraHeaders) {
  const keySent = state.apiKey !== ''
  const r = await request(method, path, payload, extraHeaders)
  if (r.status >= 200 && r.status < 300) return r.body
  throw new ApiError(r.status, errorText(r.status, r.body, keySent), r.body)
}

/** A download: the text of `path` asked with `accept`, the key sent as on every call; an ApiError otherwise. */
export async function download (path, accept) {
  const keySent = state.apiKey !== ''
  const headers = { accept }
  if (keySent) headers.authorization = 'Bearer ' + state.apiKey
  let res
  try {
    res = await fetch(path, { headers, cache: 'no-store' })
  } catch (err) {
    throw new ApiError(0, errorText(0, null, keySent))
  }
  if (!res.ok) {
    const body = await res.json().catch(() => null)
    throw new ApiError(res.status, errorText(res.status, body, keySent), body)
  }
  return await res.blob()
}

import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { ConfigError } from '../lib/process/config.js'
import { UnauthorizedError } from './errors.js'

/** RFC 6750 token characters, at least 16 of them: a short key is a guessable key. */
const KEY = /^[A-Za-z0-9._~+/-]{16,512}=*$/
const BEARER = /^Bearer +(\S+) *$/i

/**
 * GATEWAY_API_KEYS (comma-separated) → the keys. A bad key stops the gateway
 * with a message naming the variable and the key's position, never its value.
 */
export function parseApiKeys (raw: string | undefined): string[] {
  const keys = (raw ?? '').split(',').map((k) => k.trim()).filter((k) => k !== '')
  keys.forEach((key, i) => {
    if (!KEY.test(key)) {
      throw new ConfigError(`Invalid environment variable GATEWAY_API_KEYS: key #${i + 1} must be 16 to 512 characters from A-Z a-z 0-9 . _ ~ + / - (value not shown)`)
    }
  })
  return keys
}

export interface ApiKeys {
  readonly enabled: boolean
  /** A short fingerprint of the valid key the request carries (safe to log), or undefined. */
  identify: (req: FastifyRequest) => string | undefined
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text).digest()

/**
 * Keys are compared as SHA-256 digests with timingSafeEqual, against every
 * key without stopping at a match: neither a key's content nor its length
 * nor its position in the list shows in the time taken.
 */
export function createApiKeys (keys: string[]): ApiKeys {
  const digests = keys.map(sha256)
  const ids = digests.map((d) => d.toString('hex').slice(0, 12))
  const cache = new WeakMap<FastifyRequest, string | null>()

  function match (header: string | undefined): string | undefined {
    const token = header === undefined ? undefined : BEARER.exec(header)?.[1]
    if (token === undefined) return undefined
    const digest = sha256(token)
    let found = -1
    digests.forEach((d, i) => { if (timingSafeEqual(digest, d)) found = i })
    return found === -1 ? undefined : ids[found]
  }

  return {
    enabled: keys.length > 0,
    identify (req) {
      let id = cache.get(req)
      if (id === undefined) {
        id = match(req.headers.authorization) ?? null
        cache.set(req, id)
      }
      return id ?? undefined
    }
  }
}

export interface AuthOptions {
  apiKeys: ApiKeys
  /** Route prefixes that need a key (`/usuarios`, `/pagos`); everything else (/health, ...) stays open. */
  prefixes: string[]
}

/** With keys configured, a proxied call without `Authorization: Bearer <valid key>` is a 401. */
export const gatewayAuth = fp<AuthOptions>(async (app, { apiKeys, prefixes }) => {
  if (!apiKeys.enabled) return
  app.addHook('onRequest', async (req, reply) => {
    // The route the router matched, not the raw URL: no encoding trick moves a call out of a prefix.
    const route = req.routeOptions.url
    if (route === undefined || !prefixes.some((p) => route === p || route.startsWith(`${p}/`))) return
    if (apiKeys.identify(req) === undefined) {
      const sent = req.headers.authorization !== undefined
      reply.header('www-authenticate', sent ? 'Bearer realm="pagos", error="invalid_token"' : 'Bearer realm="pagos"')
      req.log.warn({ motivo: sent ? 'clave inválida' : 'sin clave' }, 'unauthorized request')
      throw new UnauthorizedError()
    }
    // The key is the gateway's business: the services never see it, nor log it.
    // Cleared, not deleted: the proxy sends no header whose value is
    // undefined, and a `delete` would turn the headers object (and reply-from's
    // copy of it) into a slow dictionary, and leave one raw header line more
    // than names, which the proxy takes for a repeated header (gateway/proxy.ts).
    req.headers.authorization = undefined
  })
}, { name: 'gateway-auth', fastify: '5.x' })

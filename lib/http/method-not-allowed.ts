import type { FastifyInstance } from 'fastify'

interface KnownPath {
  pattern: RegExp
  methods: Set<string>
}

/** `/usuarios/:usuarioId/pagos/*` → a RegExp for the paths it matches (a trailing slash allowed, as the router does). */
function patternOf (url: string): RegExp {
  const source = url
    .replace(/\/+$/, '')
    .split('/')
    .map((part) => part === '*' ? '.*' : part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('/')
  return new RegExp(`^${source}/?$`)
}

/** What the not-found handler and `OPTIONS *` ask of the app's routes. */
export interface KnownMethods {
  /**
   * For a request path that some route matches under another method, the
   * `Allow` header value (`GET, HEAD, POST`); undefined when no route has
   * the path, or has it with this method (a real 404).
   */
  allowedFor: (method: string, url: string) => string | undefined
  /** Every method some route has (HEAD with GET), and OPTIONS (`OPTIONS *` itself), as an `Allow` value: the server's answer to `OPTIONS *`. */
  all: () => string
}

/**
 * Watches every route the app declares (register it before them). Only the
 * not-found path and `OPTIONS *` pay for the lookups: routes are turned into
 * patterns on first use, after the app is ready.
 */
export function methodNotAllowed (app: FastifyInstance): KnownMethods {
  const routes = new Map<string, Set<string>>()
  app.addHook('onRoute', (route) => {
    const methods = routes.get(route.url) ?? new Set<string>()
    for (const m of Array.isArray(route.method) ? route.method : [route.method]) methods.add(m.toUpperCase())
    routes.set(route.url, methods)
  })
  let known: KnownPath[] | undefined
  const knownPaths = (): KnownPath[] => (known ??= [...routes].map(([path, methods]) => ({
    pattern: patternOf(path),
    methods: methods.has('GET') ? new Set([...methods, 'HEAD']) : methods
  })))
  let every: string | undefined
  return {
    allowedFor (method, url) {
      const q = url.indexOf('?')
      const path = q === -1 ? url : url.slice(0, q)
      const allowed = new Set<string>()
      for (const k of knownPaths()) if (k.pattern.test(path)) for (const m of k.methods) allowed.add(m)
      // The method is there after all (the router refused the path for another reason): a 404.
      return allowed.size === 0 || allowed.has(method) ? undefined : [...allowed].sort().join(', ')
    },
    all: () => (every ??= [...new Set([...knownPaths().flatMap((k) => [...k.methods]), 'OPTIONS'])].sort().join(', '))
  }
}

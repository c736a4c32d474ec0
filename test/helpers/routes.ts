import type { FastifyInstance } from 'fastify'

/**
 * Every route an app registered, read from Fastify's own route tree
 * (printRoutes, whose every node is a piece of the path: their concatenation
 * is the route), independently of @fastify/swagger: "METHOD /path".
 * HEAD routes Fastify adds for each GET are left out.
 */
export function registeredRoutes (app: FastifyInstance): string[] {
  const routes: string[] = []
  const stack: string[] = []
  for (const line of app.printRoutes().split('\n')) {
    const m = /^((?:│ {3}| {4})*)(?:├── |└── )(\S+)(?: \(([^)]*)\))?$/.exec(line)
    if (m === null) continue
    const depth = m[1]!.length / 4
    stack.length = depth
    stack.push(m[2]!)
    for (const method of (m[3] ?? '').split(', ').filter((x) => x !== '' && x !== 'HEAD')) routes.push(`${method} ${stack.join('')}`)
  }
  return routes
}

/** The same routes grouped by path: path → its methods (HEAD with every GET, as Fastify serves it). */
export function methodsByPath (app: FastifyInstance): Map<string, Set<string>> {
  const paths = new Map<string, Set<string>>()
  for (const route of registeredRoutes(app)) {
    const [method, path] = route.split(' ') as [string, string]
    const methods = paths.get(path) ?? new Set<string>()
    methods.add(method)
    if (method === 'GET') methods.add('HEAD')
    paths.set(path, methods)
  }
  return paths
}

/** Whether a route pattern (`/usuarios/:usuarioId`, `/docs/*`) matches a concrete path, as the router would. */
export function routeMatches (pattern: string, path: string): boolean {
  const source = pattern.split('/').map((part) => part === '*' ? '.*' : part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('/')
  return new RegExp(`^${source}/?$`).test(path)
}

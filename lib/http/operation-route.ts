import type { Operation, RouteSchema } from '../../contracts/http/api.js'

/**
 * The route options an operation declares — method, url and schema — for
 * `app.route({ ...routeOf(op), handler })`. A route registered this way
 * cannot drift from its documentation: both come from the one object.
 */
export function routeOf<S extends RouteSchema> (op: Operation<S>): { method: Operation['method'], url: string, schema: S } {
  return { method: op.method, url: op.url, schema: op.schema }
}

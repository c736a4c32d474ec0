/*
 * The sections of the public API, in the order every OpenAPI document lists
 * them (each service's and the gateway's merged one). Operations name their
 * section by `name`; lib/http/openapi.ts adds its own `operación` section for
 * health, metrics and the documents.
 */
export const ApiTags = [
  { name: 'usuarios', description: 'Usuarios y saldos' },
  { name: 'pagos', description: 'Pagos de un usuario: se aceptan en usuarios y los procesa pagos' },
  { name: 'procesador', description: 'El servicio pagos: estado y pagos procesados' }
] as const

/** The name of a section, as an operation's `tag`. */
export type ApiTagName = typeof ApiTags[number]['name']

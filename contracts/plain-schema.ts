/**
 * A TypeBox schema as a plain JSON Schema document: TypeBox 1.x keeps its own
 * bookkeeping in `~`-prefixed keys (`~kind`, `~optional`, `~refine` with
 * functions) that OpenAPI and AsyncAPI validators refuse. They are
 * non-enumerable today; the replacer drops them should that ever change.
 */
export function plainSchema<T> (schema: T): T {
  return JSON.parse(JSON.stringify(schema, (key, value: unknown) => key.startsWith('~') ? undefined : value)) as T
}

import type { Static, TObject } from 'typebox'
import { Value } from 'typebox/value'
import { redact } from './redact.js'

/**
 * Reads env vars through a TypeBox schema whose keys are the variable names:
 * strings are converted to the declared types, defaults applied, and the
 * first bad value stops the service with a message naming the variable.
 */
export function loadConfig<S extends TObject> (schema: S, env: NodeJS.ProcessEnv = process.env): Static<S> {
  const known: Record<string, string> = {}
  for (const [key, field] of Object.entries(schema.properties)) {
    const raw = env[key]
    if (raw === undefined || raw === '') continue
    // Conversion would read '50.5' as 50 and '1e3' as 1000: integers must be plain digits.
    if ((field as { type?: unknown }).type === 'integer' && !/^[+-]?\d+$/.test(raw)) {
      throw new ConfigError(`Invalid environment variable ${key}=${JSON.stringify(redact(raw))}: must be an integer`)
    }
    known[key] = raw
  }
  const value = Value.Default(schema, Value.Convert(schema, { ...known }))
  const errors = Value.Errors(schema, value)
  const first = errors[0]
  if (first !== undefined) {
    const name = first.instancePath.replace(/^\//, '') || Object.keys(schema.properties).find((k) => !(k in (value as object))) || '(config)'
    const shown = known[name] === undefined ? '(missing)' : JSON.stringify(redact(known[name]))
    throw new ConfigError(`Invalid environment variable ${name}=${shown}: ${first.message}`)
  }
  return value as Static<S>
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

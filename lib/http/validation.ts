import { HEADER_NAMES, MONEY, PATTERNS } from '../../contracts/http/field-words.js'
import { errorBody, ValidationError } from './errors.js'

/*
 * TypeBox's validation errors (English, one per failed keyword) turned into
 * what a client sees: `{error: "Datos inválidos", code: "VALIDACION",
 * campo, detalle}` with `detalle` in Spanish naming the field. Refinements
 * (contracts/money.ts, contracts/text.ts) already carry their Spanish
 * message; the rest is worded here from the keyword and the field.
 */

export interface ValidationIssue {
  keyword: string
  instancePath: string
  schemaPath?: string
  params?: Record<string, unknown>
  message?: string
}

export interface ValidationAnswer {
  /** `Datos inválidos` (lib/http/errors.ts ValidationError). */
  error: string
  /** `VALIDACION`. */
  code: string
  /** The field refused (`monto`, `nombre`, `Idempotency-Key`, …); absent when the body as a whole is wrong. */
  campo?: string
  detalle: string
}

const INVALID = errorBody(new ValidationError())

/**
 * `record[key]` when `key` is the record's own: a field named `constructor`
 * or `toString` must not find Object.prototype's function (its source text
 * had been the answer's `detalle`).
 */
function own (record: Record<string, string>, key: string): string | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined
}

const TYPES: Record<string, string> = {
  number: 'un número',
  integer: 'un número entero',
  string: 'un texto',
  boolean: 'true o false',
  object: 'un objeto JSON',
  array: 'una lista',
  null: 'null'
}

function fieldOf (issue: ValidationIssue, context: string | undefined): string | undefined {
  const missing = issue.keyword === 'required' ? (issue.params?.requiredProperties as string[] | undefined)?.[0] : undefined
  const last = missing ?? issue.instancePath.split('/').pop()?.replace(/~1/g, '/').replace(/~0/g, '~')
  if (last === undefined || last === '') return undefined
  return context === 'headers' ? own(HEADER_NAMES, last) ?? last : last
}

function wording (issue: ValidationIssue, campo: string, context: string | undefined): string {
  const p = issue.params ?? {}
  const limit = p.limit as number | undefined
  switch (issue.keyword) {
    case 'required': return `falta el campo \`${campo}\``
    // A query parameter given twice arrives as a list.
    case 'type': return context !== 'body' && p.type === 'string' ? `\`${campo}\` debe aparecer una sola vez` : `\`${campo}\` debe ser ${own(TYPES, String(p.type)) ?? String(p.type)}`
    case 'minLength': return limit === 1 ? `\`${campo}\` no puede estar vacío` : `\`${campo}\` debe tener al menos ${limit} caracteres`
    case 'maxLength': return `\`${campo}\` no puede tener más de ${limit} caracteres`
    case 'pattern': return `\`${campo}\` ${own(PATTERNS, campo) ?? 'no tiene un formato válido'}`
    case 'format': return `\`${campo}\` debe ser ${p.format === 'uuid' ? 'un UUID' : `un ${String(p.format)} válido`}`
    case 'minimum': return `\`${campo}\` debe ser como mínimo ${String(limit)}`
    case 'exclusiveMinimum': return `\`${campo}\` debe ser mayor que ${String(limit)}`
    case 'maximum': return `\`${campo}\` debe ser como máximo ${String(limit)}`
    case 'exclusiveMaximum': return `\`${campo}\` debe ser menor que ${String(limit)}`
    case 'anyOf': case 'oneOf': case 'const': case 'enum': return `\`${campo}\` no es un valor permitido`
    case '~refine': return issue.message ?? `\`${campo}\` no es válido`
    // A closed object's `additionalProperties: false`: a field the request does not have (a typo must not be ignored).
    case 'boolean': return issue.schemaPath?.endsWith('additionalProperties') === true ? `\`${campo}\` no es un campo de esta petición` : `\`${campo}\` no es válido`
    default: return `\`${campo}\` no es válido`
  }
}

/** The answer for the first of TypeBox's errors on a request part (`body`, `querystring`, `params`, `headers`). */
export function validationAnswer (issues: ValidationIssue[], context: string | undefined): ValidationAnswer {
  const issue = issues[0]
  if (issue === undefined) return { ...INVALID, detalle: 'petición inválida' }
  const campo = fieldOf(issue, context)
  if (campo === undefined) {
    const detalle = context === 'body' ? 'el cuerpo debe ser un objeto JSON' : 'petición inválida'
    return { ...INVALID, detalle }
  }
  const money = context === 'body' && issue.keyword !== 'required' ? own(MONEY, campo) : undefined
  return { ...INVALID, campo, detalle: money ?? wording(issue, campo, context) }
}

/**
 * The name of the field whose value starts at the end of `text`, a prefix of
 * a JSON object (`{"a":1,"monto":` → `monto`); with `inString`, of the
 * string value `text` ends inside (`{"nombre":"Ana` → `nombre`). Undefined
 * when there is none. Used to name the field of an error found in the raw
 * text, before or without parsing (an inexact number, invalid UTF-8).
 */
export function fieldBefore (text: string, inString = false): string | undefined {
  const key = (inString ? /"((?:[^"\\]|\\.)*)"\s*:\s*"(?:[^"\\]|\\.)*$/ : /"((?:[^"\\]|\\.)*)"\s*:\s*$/).exec(text)?.[1]
  if (key === undefined) return undefined
  try { return JSON.parse(`"${key}"`) as string } catch { return undefined }
}

/**
 * A number in a JSON text that a double cannot hold exactly
 * (`0.3000000000000000001` parses to 0.3, `12345678901234567891` to
 * ...2000): the answer naming the field it is the value of (money fields say
 * the money rule), or undefined when every number reads back as written.
 * Strings are skipped; call it on a text JSON.parse accepted.
 */
export function inexactNumber (json: string): ValidationAnswer | undefined {
  if (!/\d/.test(json)) return undefined
  const tokens = /"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g
  for (let m = tokens.exec(json); m !== null; m = tokens.exec(json)) {
    const token = m[0]
    if (token.startsWith('"') || decimalKey(token) === decimalKey(String(Number(token)))) continue
    const campo = fieldBefore(json.slice(0, m.index))
    if (campo === undefined) return { ...INVALID, detalle: `el número ${token.slice(0, 40)} no se puede leer exactamente` }
    return { ...INVALID, campo, detalle: own(MONEY, campo) ?? `\`${campo}\` tiene más cifras de las que se pueden leer exactamente` }
  }
  return undefined
}

/** A decimal text's exact value as `digits e exponent` without redundant zeros ("12.50" and "1250e-2" → "125e-1"); "" if it is not a finite decimal. */
function decimalKey (text: string): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text)
  if (m === null) return ''
  const fraction = m[3] ?? ''
  let digits = (m[2]! + fraction).replace(/^0+/, '')
  if (digits === '') return '0'
  let exponent = Number(m[4] ?? 0) - fraction.length
  const significant = digits.replace(/0+$/, '')
  exponent += digits.length - significant.length
  digits = significant
  return `${m[1]!}${digits}e${exponent}`
}

/**
 * The answer for a header a route reads (one of `names`, lower-case) that the
 * request carries more than once, or undefined. Node joins repeated headers
 * into one value (`a, b`), which would then be refused for what it is not:
 * the request's raw header lines say honestly how many there were.
 */
export function repeatedHeader (rawHeaders: readonly string[], names: ReadonlySet<string>): ValidationAnswer | undefined {
  const seen = new Set<string>()
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase()
    if (!names.has(name)) continue
    if (seen.has(name)) {
      const campo = own(HEADER_NAMES, name) ?? name
      return { ...INVALID, campo, detalle: `\`${campo}\` debe aparecer una sola vez` }
    }
    seen.add(name)
  }
  return undefined
}

/**
 * The answer for a JSON text (one JSON.parse accepted) in which an object
 * has the same member name twice (`{"monto":1,"monto":900}`), naming it, or
 * undefined. RFC 8259 §4 leaves such a text's meaning to the parser (ours
 * keeps the last value, another the first); I-JSON (RFC 7493 §2.3) forbids
 * it. Money is not moved on a reading another program may not share.
 */
export function duplicateMember (json: string): ValidationAnswer | undefined {
  // Each open object's names so far: undefined before its first, that name
  // alone after it, a Set from its second (most bodies make no Set); null for an array.
  const open: Array<Set<string> | string | null | undefined> = []
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i)
    if (c === 0x7b) open.push(undefined) // {
    else if (c === 0x5b) open.push(null) // [
    else if (c === 0x7d || c === 0x5d) open.pop() // } ]
    else if (c === 0x22) { // "
      let end = i + 1
      let escaped = false
      for (let d = json.charCodeAt(end); d !== 0x22; d = json.charCodeAt(end)) {
        if (d === 0x5c) { escaped = true; end++ }
        end++
      }
      const top = open.length - 1
      const names = open[top]
      if (names !== null && top >= 0 && isMemberName(json, end + 1)) {
        const name = escaped ? JSON.parse(json.slice(i, end + 1)) as string : json.slice(i + 1, end)
        if (names === undefined) open[top] = name
        else if (typeof names === 'string') {
          if (names === name) return duplicated(name)
          open[top] = new Set([names, name])
        } else {
          if (names.has(name)) return duplicated(name)
          names.add(name)
        }
      }
      i = end
    }
  }
  return undefined
}

/** Whether the next character at or after `from` that is not JSON whitespace is a colon. */
function isMemberName (json: string, from: number): boolean {
  let i = from
  for (let c = json.charCodeAt(i); c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d; c = json.charCodeAt(++i));
  return json.charCodeAt(i) === 0x3a
}

function duplicated (campo: string): ValidationAnswer {
  return { ...INVALID, campo, detalle: `\`${campo}\` aparece más de una vez en el mismo objeto` }
}

// RFC 9110 §8.3.1 and §5.6: type "/" subtype *( OWS ";" OWS [ name "=" ( token / quoted-string ) ] ).
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+"
const MEDIA_TYPE = new RegExp(`^[ \\t]*${TOKEN}/${TOKEN}(?:[ \\t]*;[ \\t]*(?:${TOKEN}=(?:${TOKEN}|"(?:[\\t \\x21\\x23-\\x5b\\x5d-\\x7e\\x80-\\xff]|\\\\[\\t \\x21-\\x7e\\x80-\\xff])*"))?)*[ \\t]*$`)

/**
 * Whether a Content-Type value is a media type as RFC 9110 §8.3.1 writes it:
 * `application/json; charset=utf-8` is, `application/json; charset` (a
 * parameter without a value) and `application/json; charset="utf-8` are not.
 */
export function isWellFormedMediaType (value: string): boolean {
  return MEDIA_TYPE.test(value)
}

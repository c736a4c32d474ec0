import fc from 'fast-check'
import t from 'tap'
import { duplicateMember, isWellFormedMediaType } from '../../lib/http/validation.js'

// A JSON text is read one way or refused: duplicateMember finds an object
// that names a member twice, however the text is spaced or escaped.

const name = fc.oneof(fc.constantFrom('monto', 'concepto', 'a', '', '{', '"', '\\', ':'), fc.string({ maxLength: 6 }))

/** `value` written with JSON's whitespace between tokens, and names escaped as \uXXXX at random. */
function write (value: unknown, space: string, escape: boolean): string {
  const text = (s: string): string => escape ? `"${[...s].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"` : JSON.stringify(s)
  if (Array.isArray(value)) return `[${space}${value.map((v) => write(v, space, escape)).join(`${space},${space}`)}${space}]`
  if (value !== null && typeof value === 'object') {
    return `{${space}${Object.entries(value).map(([k, v]) => `${text(k)}${space}:${space}${write(v, space, escape)}`).join(`${space},${space}`)}${space}}`
  }
  return JSON.stringify(value)
}

const spacing = fc.constantFrom('', ' ', '\n\t ', '\r\n')

t.test('property: no JSON text JSON.stringify can write names a member twice', async (t) => {
  fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), spacing, fc.boolean(), (value, space, escape) => {
    const json = write(value, space, escape)
    JSON.parse(json)
    return duplicateMember(json) === undefined
  }), { numRuns: 3_000 })
  t.pass('3,000 texts')
})

t.test('property: an object given one of its names again is found, at any depth, however written', async (t) => {
  fc.assert(fc.property(fc.dictionary(name, fc.jsonValue({ maxDepth: 2 }), { minKeys: 1, maxKeys: 5 }), fc.nat(), fc.jsonValue({ maxDepth: 1 }), fc.nat(3), spacing, fc.boolean(),
    (object, pick, again, depth, space, escape) => {
      const names = Object.keys(object)
      const repeated = names[pick % names.length]!
      let json = write(object, space, escape)
      // The repeat goes in last: `{..., "name": again}`.
      json = `${json.slice(0, -1)},${space}${write({ [repeated]: again }, space, escape).slice(1)}`
      for (let i = 0; i < depth; i++) json = `{"lista":[1,{"dentro":${json}}]}`
      JSON.parse(json)
      const found = duplicateMember(json)
      return found?.campo === repeated && found.detalle === `\`${repeated}\` aparece más de una vez en el mismo objeto`
    }), { numRuns: 3_000 })
  t.pass('3,000 repeats found')
})

t.test('names equal only once decoded, and texts that merely look like names', async (t) => {
  t.equal(duplicateMember('{"monto":1,"\\u006donto":2}')?.campo, 'monto')
  t.equal(duplicateMember('{"a":"\\"b\\":1,\\"b\\":2","b":1}'), undefined, 'quotes inside a string')
  t.equal(duplicateMember('{"a":{"b":1},"c":{"b":2}}'), undefined, 'one name in two objects')
  t.equal(duplicateMember('[{"a":1},{"a":1}]'), undefined, 'two objects in a list')
  t.equal(duplicateMember('{"a":["a","a"]}'), undefined, 'strings in a list')
  t.equal(duplicateMember('{"\\\\":1,"\\\\":2}')?.campo, '\\', 'a name that is a backslash')
})

t.test('a Content-Type is one media type as RFC 9110 writes it', async (t) => {
  for (const good of ['application/json', 'application/json; charset=utf-8', 'application/json;charset="utf-8"', 'Application/JSON ; q=1 ; x="a\\"b"', 'application/json;;', 'application/json; ']) {
    t.ok(isWellFormedMediaType(good), good)
  }
  for (const bad of ['', 'application/json; charset', 'application/json; charset=', 'application/json; charset="utf-8', 'application/json; =utf-8', 'application/json charset=utf-8', 'application', 'application/json/x', 'application/json; a b=c']) {
    t.notOk(isWellFormedMediaType(bad), JSON.stringify(bad))
  }
})

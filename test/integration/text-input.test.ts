import fc from 'fast-check'
import t from 'tap'
import { esTextoValido } from '../../contracts/text.js'
import { firstInvalidUtf8 } from '../../lib/http/http-app.js'
import type { App } from '../../lib/http/http-app.js'
import { dialects, freshDatabaseUrl, usuariosApp } from '../helpers/apps.js'

/*
 * Text a client sends, on SQLite and on PostgreSQL: the same input gets the
 * same answer on both. Ill-formed Unicode, bytes that are not UTF-8, control
 * characters and blank names are a 400 naming the field, and nothing is
 * stored; a declared charset other than UTF-8 is a 415; what is accepted is
 * stored exactly (a nombre trimmed). Issue 12: `{"nombre": "Ana\ud83d"}` was
 * a 201 stored as "Ana" plus a replacement character, and NUL a 500 on
 * PostgreSQL only.
 */

interface Case {
  name: string
  url: string
  /** The exact bytes of the body. */
  body: string | Buffer
  contentType?: string
  headers?: Record<string, string>
  status: number
  /** The field the 400 names. */
  campo?: string
  /** What GET shows afterwards for an accepted nombre or concepto. */
  stored?: string
}

const utf8 = (...parts: Array<string | number[]>): Buffer => Buffer.concat(parts.map((p) => typeof p === 'string' ? Buffer.from(p) : Buffer.from(p)))
const crear = (name: string, nombreJson: string, status = 400, stored?: string): Case =>
  ({ name, url: '/usuarios', body: `{"nombre":${nombreJson},"saldo":1}`, status, ...(status === 400 ? { campo: 'nombre' } : {}), ...(stored === undefined ? {} : { stored }) })
const pagar = (name: string, conceptoJson: string, status = 400, stored?: string): Case =>
  ({ name, url: '/usuarios/1/pagar', body: `{"monto":1,"concepto":${conceptoJson}}`, status, ...(status === 400 ? { campo: 'concepto' } : {}), ...(stored === undefined ? {} : { stored }) })

const cases: Case[] = [
  // ill-formed Unicode, escaped
  crear('a lone high surrogate, escaped ("Ana\\ud83d")', '"Ana\\ud83d"'),
  crear('a lone low surrogate, escaped', '"\\udc00Ana"'),
  crear('two high surrogates', '"\\ud83d\\ud83d"'),
  pagar('a lone surrogate in concepto', '"Libro \\ud800"'),
  // bytes that are not UTF-8
  { name: 'a surrogate encoded in UTF-8 bytes (CESU)', url: '/usuarios', body: utf8('{"nombre":"Ana', [0xed, 0xa0, 0xbd], '","saldo":1}'), status: 400, campo: 'nombre' },
  { name: 'a 0xFF byte', url: '/usuarios', body: utf8('{"nombre":"A', [0xff], 'a","saldo":1}'), status: 400, campo: 'nombre' },
  { name: 'Latin-1 é sent as one byte', url: '/usuarios', body: utf8('{"nombre":"Jos', [0xe9], '","saldo":1}'), status: 400, campo: 'nombre' },
  { name: 'an overlong "/"', url: '/usuarios', body: utf8('{"nombre":"a', [0xc0, 0xaf], '"}'), status: 400, campo: 'nombre' },
  { name: 'a truncated sequence', url: '/usuarios/1/pagar', body: utf8('{"monto":1,"concepto":"caf', [0xc3], '"}'), status: 400, campo: 'concepto' },
  { name: 'a bad byte outside any string', url: '/usuarios', body: utf8('{"nombre":"Eva"', [0xff], '}'), status: 400 },
  // control characters
  crear('NUL', '"Ana\\u0000"'),
  crear('BEL', '"Ana\\u0007"'),
  crear('a tab', '"Ana\\tLópez"'),
  crear('a newline', '"Ana\\nLópez"'),
  crear('DEL', '"Ana\\u007f"'),
  crear('a C1 control (NEL)', '"Ana\\u0085"'),
  crear('a line separator', '"Ana\\u2028"'),
  crear('a noncharacter', '"Ana\\uffff"'),
  pagar('NUL in concepto', '"Libro\\u0000"'),
  // blank
  crear('empty', '""'),
  crear('spaces only', '"   "'),
  crear('a zero-width space only', '"\\u200b"'),
  crear('ideographic space and BOM only', '"\\u3000\\ufeff"'),
  crear('a Hangul filler only', '"\\u3164"'),
  crear('the Braille blank only (renders as a space)', '"\\u2800\\u2800"'),
  crear('a combining mark with nothing to combine with', '"\\u0301"'),
  pagar('a concepto of an ideographic space and a Braille blank', '"\\u3000\\u2800"'),
  crear('a letter with a combining accent is a name', '"Jose\\u0301"', 201, 'Jose\u0301'),
  pagar('a blank concepto', '"  \\u200b "'),
  // length, in code points
  crear('100 emoji (100 code points, 200 UTF-16 units)', JSON.stringify('🎉'.repeat(100)), 201, '🎉'.repeat(100)),
  crear('101 emoji', JSON.stringify('🎉'.repeat(101))),
  // charsets
  { name: 'charset=latin1', url: '/usuarios', body: '{"nombre":"Eva"}', contentType: 'application/json; charset=latin1', status: 415 },
  { name: 'charset=utf-16', url: '/usuarios', body: '{"nombre":"Eva"}', contentType: 'application/json; charset=utf-16', status: 415 },
  { name: 'charset=UTF-8', url: '/usuarios', body: '{"nombre":"Eva"}', contentType: 'application/json; charset=UTF-8', status: 201, stored: 'Eva' },
  { name: 'a UTF-8 byte order mark before the JSON', url: '/usuarios', body: utf8([0xef, 0xbb, 0xbf], '{"nombre":"Eva"}'), status: 201, stored: 'Eva' },
  { name: 'charset=utf8', url: '/usuarios', body: '{"nombre":"Eva"}', contentType: 'application/json; charset=utf8', status: 201, stored: 'Eva' },
  { name: 'charset="utf-8"', url: '/usuarios', body: '{"nombre":"Eva"}', contentType: 'application/json;charset="utf-8"', status: 201, stored: 'Eva' },
  // Idempotency-Key
  { name: 'an Idempotency-Key with a control character', url: '/usuarios/1/pagar', body: '{"monto":1}', headers: { 'idempotency-key': 'clave\u0001' }, status: 400, campo: 'Idempotency-Key' },
  { name: 'an Idempotency-Key with a Latin-1 byte', url: '/usuarios/1/pagar', body: '{"monto":1}', headers: { 'idempotency-key': 'clav\u00e9' }, status: 400, campo: 'Idempotency-Key' },
  // accepted, stored exactly
  crear('trimmed', '"  Luis \\u3000"', 201, 'Luis'),
  crear('trimmed of zero-width characters too', '"\\u200b\\ufeff Ana\\u200d "', 201, 'Ana'),
  crear('accents, combining marks, emoji sequences', '"Zoë Jose\\u0301 👩‍👩‍👧 🇪🇸 ❤️"', 201, 'Zoë Jose\u0301 👩‍👩‍👧 🇪🇸 ❤️'),
  crear('an escaped valid surrogate pair', '"Ana \\ud83c\\udf89"', 201, 'Ana 🎉'),
  crear('a replacement character sent on purpose', '"Ana \\ufffd"', 201, 'Ana \ufffd'),
  pagar('a concepto with an emoji', '"Café ☕"', 202, 'Café ☕')
]

interface Answer { status: number, campo?: string, code?: string, stored?: string, usuarios: number, pagos: number }

async function answer (app: App, c: Case): Promise<Answer> {
  const before = { usuarios: (await app.inject('/usuarios')).json().total, pagos: (await app.inject('/usuarios/1/pagos')).json().total }
  const res = await app.inject({ method: 'POST', url: c.url, payload: c.body, headers: { 'content-type': c.contentType ?? 'application/json', ...c.headers } })
  const body = res.json()
  let stored: string | undefined
  if (res.statusCode === 201) stored = (await app.inject(`/usuarios/${body.id as number}`)).json().nombre
  if (res.statusCode === 202) stored = (await app.inject(`/usuarios/1/pagos/${body.pago.id as string}`)).json().concepto
  const after = { usuarios: (await app.inject('/usuarios')).json().total, pagos: (await app.inject('/usuarios/1/pagos')).json().total }
  return {
    status: res.statusCode,
    ...(body.campo === undefined ? {} : { campo: body.campo }),
    ...(res.statusCode >= 400 ? { code: body.code } : {}),
    ...(stored === undefined ? {} : { stored }),
    usuarios: after.usuarios - before.usuarios,
    pagos: after.pagos - before.pagos
  }
}

t.test(`${cases.length} text inputs get the same answer on ${dialects.join(' and ')}`, async (t) => {
  const results = new Map<string, Answer[]>()
  for (const dialect of dialects) {
    const url = await freshDatabaseUrl(t, dialect, 'text')
    const { app } = await usuariosApp(t, url === undefined ? {} : { USUARIOS_DATABASE_URL: url })
    for (const c of cases) {
      const a = await answer(app, c)
      results.set(c.name, [...(results.get(c.name) ?? []), a])
      t.test(`${dialect}: ${c.name}`, async (t) => {
        t.equal(a.status, c.status, `answers ${c.status}`)
        if (c.campo !== undefined) t.equal(a.campo, c.campo, `names ${c.campo}`)
        if (c.status === 415) t.equal(a.code, 'CHARSET_NO_SOPORTADO')
        if (c.status >= 400) t.same([a.usuarios, a.pagos], [0, 0], 'nothing created')
        if (c.stored !== undefined) t.equal(a.stored, c.stored, 'stored exactly')
      })
    }
  }
  if (dialects.length === 2) {
    for (const [name, [sqlite, postgres]] of results) t.same(postgres, sqlite, `${name}: PostgreSQL answers as SQLite`)
  }
})

t.test('the Spanish message names the field', async (t) => {
  const { app } = await usuariosApp(t)
  const res = await app.inject({ method: 'POST', url: '/usuarios', headers: { 'content-type': 'application/json' }, payload: '{"nombre":"Ana\\ud83d","saldo":1}' })
  t.same(res.json(), { error: 'Datos inválidos', code: 'VALIDACION', campo: 'nombre', detalle: '`nombre` no es Unicode válido (tiene un sustituto suelto)' })
  const bytes = await app.inject({ method: 'POST', url: '/usuarios', headers: { 'content-type': 'application/json' }, payload: utf8('{"nombre":"A', [0xff], '"}') })
  t.same(bytes.json(), { error: 'Datos inválidos', code: 'VALIDACION', campo: 'nombre', detalle: '`nombre` no es UTF-8 válido' })
  const charset = await app.inject({ method: 'POST', url: '/usuarios', headers: { 'content-type': 'application/json; charset=iso-8859-1' }, payload: '{"nombre":"Eva"}' })
  t.same(charset.json(), { error: 'Juego de caracteres no soportado: el cuerpo JSON debe ir en UTF-8', code: 'CHARSET_NO_SOPORTADO' })
  const blank = await app.inject({ method: 'POST', url: '/usuarios', headers: { 'content-type': 'application/json' }, payload: '{"nombre":"\\u200b"}' })
  t.equal(blank.json().detalle, '`nombre` no puede estar vacío ni ser solo espacios o caracteres invisibles')
})

t.test('property: the UTF-8 check agrees with the platform\'s strict decoder on random bytes', async (t) => {
  const strict = new TextDecoder('utf-8', { fatal: true })
  fc.assert(fc.property(fc.uint8Array({ maxLength: 12 }), (bytes) => {
    let valid = true
    try { strict.decode(bytes) } catch { valid = false }
    return (firstInvalidUtf8(bytes) === -1) === valid
  }), { numRuns: 20_000 })
  t.pass('20,000 byte strings')
})

t.test('property: any string of letters, digits, punctuation and emoji with a letter in it is valid text', async (t) => {
  const ch = fc.constantFrom(...'aÁñç€ 1-_.,😀👍🏽中文'.split(/(?:)/u))
  fc.assert(fc.property(fc.array(ch, { maxLength: 20 }).map((a) => `x${a.join('')}`), esTextoValido), { numRuns: 2_000 })
  fc.assert(fc.property(fc.string({ unit: 'binary', minLength: 1 }), (s) => {
    // A string with a lone surrogate or a C0 control is never valid.
    // eslint-disable-next-line no-control-regex -- C0 controls are what is tested
    const bad = /[\u0000-\u001f\u007f]/.test(s) || /\p{Cs}/u.test(s)
    return !bad || !esTextoValido(s)
  }), { numRuns: 5_000 })
  t.pass('valid text accepted, ill-formed refused')
})

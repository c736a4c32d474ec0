import fc from 'fast-check'
import { sql, type Kysely } from 'kysely'
import t from 'tap'
import { decodeMessage } from '../../contracts/messages.js'
import { MONTO_MAXIMO, MONTO_MAXIMO_CENTIMOS, SALDO_MAXIMO, SALDO_MAXIMO_CENTIMOS, fromCentimos } from '../../contracts/money.js'
import type { DialectName } from '../../lib/storage/db.js'
import type { App } from '../../lib/http/http-app.js'
import { migrations } from '../../usuarios/store/migrations.js'
import { createCuentaPagosStore } from '../../usuarios/store/cuenta-pagos-store.js'
import type { UsuariosDatabase } from '../../usuarios/store/schema.js'
import { brokerAway, dialects, freshDatabaseUrl, openTestDb, usuariosApp, type Test } from '../helpers/apps.js'

/*
 * Money through the real routes and stores, on SQLite and on PostgreSQL:
 * every valid amount is accepted and exact to the cent through creation,
 * top-up, payment and the refund of a failed payment; every invalid one is
 * refused and changes nothing; no balance passes SALDO_MAXIMO, whatever the
 * path (issue 12).
 */

/** usuarios (broker away: the outbox keeps its rows) on a fresh database of the dialect, and a second handle on that database for the checks. */
async function setup (t: Test, dialect: DialectName): Promise<{ app: App, db: Kysely<UsuariosDatabase> }> {
  const url = await freshDatabaseUrl(t, dialect, 'money')
  const { app, file } = await usuariosApp(t, url === undefined ? {} : { USUARIOS_DATABASE_URL: url }, brokerAway())
  const db = await openTestDb<UsuariosDatabase>(t, migrations, url === undefined ? { dialect: 'sqlite', file } : { dialect: 'postgres', url })
  return { app, db }
}

/** A JSON request whose body is sent as the exact text given. */
async function postText (app: App, url: string, text: string, headers: Record<string, string> = {}) {
  const res = await app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json', ...headers }, payload: text })
  return { status: res.statusCode, body: res.json() }
}

/** Integer cents as the decimal text a client would send: 123456789 → "1234567.89". */
const texto = (centimos: number): string => {
  const d = String(centimos).padStart(3, '0')
  return `${d.slice(0, -2)}.${d.slice(-2)}`
}

async function fila (db: Kysely<UsuariosDatabase>, id: number): Promise<number> {
  // As text: the database's own integer, whatever a driver would make of it.
  const r = await sql<{ c: string }>`select cast(saldo_centimos as text) as c from usuarios where id = ${id}`.execute(db)
  return Number(r.rows[0]!.c)
}

async function contar (db: Kysely<UsuariosDatabase>, table: 'usuarios' | 'recargas' | 'pagos' | 'outbox'): Promise<number> {
  const { n } = await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
  return Number(n)
}

const validCents = fc.oneof(
  fc.integer({ min: 1, max: MONTO_MAXIMO_CENTIMOS }),
  fc.integer({ min: 1, max: 100_000 }),
  fc.integer({ min: 104_857_600, max: 1_000_000_000 }),
  fc.constantFrom(1, 123_456_789, 104_857_613, MONTO_MAXIMO_CENTIMOS)
)

/** JSON texts for `monto` that are not an amount: more decimals, too large, zero, negative, not a number. */
const invalidMonto = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: MONTO_MAXIMO }), fc.integer({ min: 3, max: 5 }), fc.integer({ min: 1, max: 99_999 }))
    .filter(([, places, frac]) => frac % 10 !== 0 && frac < 10 ** places)
    .map(([whole, places, frac]) => `${whole}.${String(frac).padStart(places, '0')}`),
  fc.integer({ min: SALDO_MAXIMO_CENTIMOS + 1, max: 10 ** 15 }).map(texto),
  fc.integer({ min: 1, max: MONTO_MAXIMO_CENTIMOS }).map((c) => `-${texto(c)}`),
  fc.constantFrom('-0.01', '0.001', '0.30000000000000004', '1e309', '1e-7', '"12.5"', 'true', 'null', '[]', '{}', '10000000000.01')
)

/** Not an amount, yet a valid initial balance: 0, and above the largest amount up to the ceiling. */
const invalidMontoOnly = fc.oneof(
  fc.integer({ min: MONTO_MAXIMO_CENTIMOS + 1, max: SALDO_MAXIMO_CENTIMOS }).map(texto),
  fc.constantFrom('0', '-0', '1000000000.01')
)

const RUNS = 25

for (const dialect of dialects) {
  t.test(dialect, async (t) => {
    const { app, db } = await setup(t, dialect)
    const store = createCuentaPagosStore(db, () => {})
    const fallar = async (pagoId: string, usuarioId: number, montoCentimos: number): Promise<void> => {
      const r = await store.applyPagoProcesado({ tipo: 'pago.procesado', version: 1, pagoId, usuarioId, montoCentimos, estado: 'fallido', motivo: 'Rechazado', procesadoEn: new Date().toISOString() })
      if (r.kind !== 'applied') throw new Error(`refund of ${pagoId}: ${JSON.stringify(r)}`)
    }

    t.test('1234567.89 is accepted and exact, as a top-up, a payment and an initial balance', async (t) => {
      const creado = await postText(app, '/usuarios', '{"nombre":"Grande","saldo":1234567.89}')
      t.equal(creado.status, 201)
      t.equal(creado.body.saldo, 1234567.89)
      const id = creado.body.id as number
      const recarga = await postText(app, `/usuarios/${id}/recargar`, '{"monto": 1234567.89}')
      t.equal(recarga.status, 200, 'POST recargar {"monto": 1234567.89}')
      t.equal(recarga.body.usuario.saldo, 2469135.78)
      t.equal(recarga.body.recarga.monto, 1234567.89)
      const pago = await postText(app, `/usuarios/${id}/pagar`, '{"monto": 1234567.89}')
      t.equal(pago.status, 202)
      t.equal(pago.body.pago.monto, 1234567.89)
      t.equal(pago.body.usuario.saldo, 1234567.89)
      t.equal(await fila(db, id), 123_456_789, 'the row holds the exact cents')
    })

    t.test(`property (${RUNS} runs): every valid amount is exact to the cent through creation, top-up, payment and refund`, async (t) => {
      await fc.assert(fc.asyncProperty(validCents, async (cents) => {
        const m = texto(cents)
        const monto = fromCentimos(cents)
        const creado = await postText(app, '/usuarios', `{"nombre":"P","saldo":${m}}`)
        if (creado.status !== 201 || creado.body.saldo !== monto) throw new Error(`create ${m}: ${JSON.stringify(creado)}`)
        const id = creado.body.id as number
        const recarga = await postText(app, `/usuarios/${id}/recargar`, `{"monto":${m}}`)
        if (recarga.status !== 200 || recarga.body.recarga.monto !== monto || recarga.body.usuario.saldo !== fromCentimos(2 * cents)) throw new Error(`top up ${m}: ${JSON.stringify(recarga)}`)
        if (await fila(db, id) !== 2 * cents) throw new Error(`row after top-up of ${m}`)
        const pago = await postText(app, `/usuarios/${id}/pagar`, `{"monto":${m}}`)
        if (pago.status !== 202 || pago.body.pago.monto !== monto || pago.body.usuario.saldo !== monto) throw new Error(`pay ${m}: ${JSON.stringify(pago)}`)
        const row = await db.selectFrom('outbox').select('payload').where('message_id', '=', pago.body.pago.id).executeTakeFirstOrThrow()
        const decoded = decodeMessage('pago.solicitado', row.payload)
        if (!decoded.ok || decoded.message.montoCentimos !== cents) throw new Error(`message of ${m}: ${JSON.stringify(decoded)}`)
        await fallar(pago.body.pago.id, id, cents)
        const after = (await app.inject(`/usuarios/${id}`)).json()
        if (after.saldo !== fromCentimos(2 * cents) || await fila(db, id) !== 2 * cents) throw new Error(`refund of ${m}: ${JSON.stringify(after)}`)
      }), { numRuns: RUNS })
      t.pass(`${RUNS} amounts`)
    })

    t.test(`property (${RUNS} runs): every invalid amount is a Spanish 400 naming the field, and nothing changes`, async (t) => {
      const before = { usuarios: await contar(db, 'usuarios'), recargas: await contar(db, 'recargas'), pagos: await contar(db, 'pagos'), saldo: await fila(db, 2) }
      const cases = fc.oneof(invalidMonto.map((m) => ({ m, saldoToo: true })), invalidMontoOnly.map((m) => ({ m, saldoToo: false })))
      await fc.assert(fc.asyncProperty(cases, async ({ m, saldoToo }) => {
        for (const [url, text, campo] of [
          ['/usuarios/2/recargar', `{"monto":${m}}`, 'monto'],
          ['/usuarios/2/pagar', `{"monto":${m}}`, 'monto'],
          ...(saldoToo ? [['/usuarios', `{"nombre":"X","saldo":${m}}`, 'saldo']] as const : [])
        ] as const) {
          const r = await postText(app, url, text)
          if (r.status !== 400 || r.body.code !== 'VALIDACION' || r.body.campo !== campo || !/como máximo 2 decimales/.test(r.body.detalle)) {
            throw new Error(`${url} ${text}: ${JSON.stringify(r)}`)
          }
        }
      }), { numRuns: RUNS })
      t.same({ usuarios: await contar(db, 'usuarios'), recargas: await contar(db, 'recargas'), pagos: await contar(db, 'pagos'), saldo: await fila(db, 2) }, before, 'no user, top-up, payment or balance change')
    })

    t.test('the Spanish message the user sees', async (t) => {
      const r = await postText(app, '/usuarios/2/recargar', '{"monto": 12.345}')
      t.same(r.body, {
        error: 'Datos inválidos',
        code: 'VALIDACION',
        campo: 'monto',
        detalle: `\`monto\` debe ser un número mayor que 0 con como máximo 2 decimales, hasta ${MONTO_MAXIMO} (por ejemplo 12.5)`
      })
      const falta = await postText(app, '/usuarios/2/recargar', '{}')
      t.same(falta.body, { error: 'Datos inválidos', code: 'VALIDACION', campo: 'monto', detalle: 'falta el campo `monto`' })
    })

    t.test('the balance ceiling', async (t) => {
      t.test('an initial balance up to the ceiling, not above', async (t) => {
        const ok = await postText(app, '/usuarios', `{"nombre":"Tope","saldo":${SALDO_MAXIMO}}`)
        t.equal(ok.status, 201)
        t.equal(ok.body.saldo, SALDO_MAXIMO)
        const users = await contar(db, 'usuarios')
        const above = await postText(app, '/usuarios', `{"nombre":"Tope","saldo":${SALDO_MAXIMO}.01}`)
        t.equal(above.status, 400)
        t.equal(above.body.campo, 'saldo')
        t.equal(await contar(db, 'usuarios'), users, 'no user created')
      })

      // Issue 12: 90,000 top-ups of the largest amount passed 2^53 cents and
      // from then on balances moved by the wrong amount. Now the top-ups stop
      // at the ceiling, exactly, and the refused one changes nothing.
      t.test('topping up the largest amount again and again stops exactly at the ceiling', async (t) => {
        const id = (await postText(app, '/usuarios', '{"nombre":"Ahorrador"}')).body.id as number
        let accepted = 0
        let refused: { status: number, body: any } | undefined
        for (let i = 0; i < 20 && refused === undefined; i++) {
          const r = await postText(app, `/usuarios/${id}/recargar`, `{"monto":${MONTO_MAXIMO}}`)
          if (r.status === 200) accepted++
          else refused = r
        }
        t.equal(accepted, SALDO_MAXIMO / MONTO_MAXIMO, 'ten top-ups of 1,000,000,000 reach 10,000,000,000')
        t.same(refused, {
          status: 409,
          body: { error: 'El saldo superaría el máximo permitido', code: 'SALDO_MAXIMO_SUPERADO', saldo: SALDO_MAXIMO, pendiente: 0, monto: MONTO_MAXIMO, saldoMaximo: SALDO_MAXIMO }
        })
        t.equal(await fila(db, id), SALDO_MAXIMO_CENTIMOS, 'the row is exactly the ceiling')
        const recargas = await db.selectFrom('recargas').select('id').where('usuario_id', '=', id).execute()
        t.equal(recargas.length, accepted, 'no top-up recorded for the refusal')
        const cent = await postText(app, `/usuarios/${id}/recargar`, '{"monto":0.01}')
        t.equal(cent.status, 409, 'not even one cent more')
        const pago = await postText(app, `/usuarios/${id}/pagar`, `{"monto":${MONTO_MAXIMO}}`)
        t.equal(pago.status, 202, 'paying from the ceiling works')
        t.equal(pago.body.usuario.saldo, SALDO_MAXIMO - MONTO_MAXIMO)
      })

      t.test('pending payments count: a failed payment\'s refund can never pass the ceiling', async (t) => {
        const id = (await postText(app, '/usuarios', `{"nombre":"Pendiente","saldo":${SALDO_MAXIMO}}`)).body.id as number
        const pago = await postText(app, `/usuarios/${id}/pagar`, '{"monto":100}')
        t.equal(pago.status, 202)
        t.equal(pago.body.usuario.saldo, SALDO_MAXIMO - 100)
        const recarga = await postText(app, `/usuarios/${id}/recargar`, '{"monto":100}', { 'idempotency-key': 'tope-1' })
        t.equal(recarga.status, 409, 'the 100 pending still count')
        t.match(recarga.body, { code: 'SALDO_MAXIMO_SUPERADO', saldo: SALDO_MAXIMO - 100, pendiente: 100, monto: 100 })
        const again = await postText(app, `/usuarios/${id}/recargar`, '{"monto":100}', { 'idempotency-key': 'tope-1' })
        t.same(again, recarga, 'the refusal is remembered under its key')
        t.equal(await fila(db, id), SALDO_MAXIMO_CENTIMOS - 10_000, 'nothing changed')
        await fallar(pago.body.pago.id, id, 10_000)
        t.equal(await fila(db, id), SALDO_MAXIMO_CENTIMOS, 'refunded: exactly at the ceiling, not past it')
        t.equal((await app.inject(`/usuarios/${id}`)).json().saldo, SALDO_MAXIMO)
      })

      t.test('concurrent top-ups and payments never take saldo + pending past the ceiling', async (t) => {
        const id = (await postText(app, '/usuarios', `{"nombre":"Carrera","saldo":${SALDO_MAXIMO - 1000}}`)).body.id as number
        const results = await Promise.all(Array.from({ length: 40 }, async (_, i) => i % 2 === 0
          ? await postText(app, `/usuarios/${id}/recargar`, '{"monto":100}')
          : await postText(app, `/usuarios/${id}/pagar`, '{"monto":100}')))
        const recargas = results.filter((_, i) => i % 2 === 0)
        const pagos = results.filter((_, i) => i % 2 === 1)
        t.ok(pagos.every((r) => r.status === 202), 'every payment accepted')
        t.ok(recargas.every((r) => r.status === 200 || (r.status === 409 && r.body.code === 'SALDO_MAXIMO_SUPERADO')), 'top-ups accepted or refused with the code')
        t.equal(recargas.filter((r) => r.status === 200).length, 10, 'exactly the 1,000 of room was topped up')
        for (const p of pagos) await fallar(p.body.pago.id, id, 10_000)
        t.equal(await fila(db, id), SALDO_MAXIMO_CENTIMOS, 'after every payment failed and was refunded: exactly the ceiling')
      })

      t.test('a completed payment frees its room', async (t) => {
        const id = (await postText(app, '/usuarios', `{"nombre":"Completo","saldo":${SALDO_MAXIMO}}`)).body.id as number
        const pago = await postText(app, `/usuarios/${id}/pagar`, '{"monto":100}')
        await store.applyPagoProcesado({ tipo: 'pago.procesado', version: 1, pagoId: pago.body.pago.id, usuarioId: id, montoCentimos: 10_000, estado: 'completado', motivo: 'Aprobado', procesadoEn: new Date().toISOString() })
        const recarga = await postText(app, `/usuarios/${id}/recargar`, '{"monto":100}')
        t.equal(recarga.status, 200)
        t.equal(recarga.body.usuario.saldo, SALDO_MAXIMO)
      })
    })

    if (dialect === 'postgres') {
      t.test('PostgreSQL bigint is read exactly or refused', async (t) => {
        const read = async (v: string): Promise<unknown> => (await sql<{ n: unknown }>`select cast(${v} as bigint) as n`.execute(db)).rows[0]!.n
        t.equal(await read(String(SALDO_MAXIMO_CENTIMOS)), SALDO_MAXIMO_CENTIMOS)
        t.equal(await read(String(Number.MAX_SAFE_INTEGER)), Number.MAX_SAFE_INTEGER)
        await t.rejects(read(String(2n ** 53n)), RangeError, '2^53 is refused')
        await t.rejects(read(String(2n ** 53n + 1n)), RangeError, '2^53 + 1 is refused, not read as 2^53')
      })
    }

    // A row written before the ceiling existed (or by hand): it is shown
    // exactly or refused, never rounded, and nothing moves it.
    t.test('a balance past 2^53 cents already in the database is refused, never rounded', async (t) => {
      const id = (await postText(app, '/usuarios', '{"nombre":"Antiguo"}')).body.id as number
      await sql`update usuarios set saldo_centimos = cast(${String(2n ** 53n + 1n)} as bigint) where id = ${id}`.execute(db)
      const res = await app.inject(`/usuarios/${id}`)
      t.equal(res.statusCode, 500, 'an error, not a rounded number')
      t.notMatch(res.body, /9007199254740/, 'no balance shown')
      const recarga = await postText(app, `/usuarios/${id}/recargar`, '{"monto":1}')
      t.equal(recarga.status, 500, 'a top-up is refused (past the ceiling, and its 409 could not show the balance)')
      const texto = async (): Promise<string> =>
        (await sql<{ c: string }>`select cast(saldo_centimos as text) as c from usuarios where id = ${id}`.execute(db)).rows[0]!.c
      t.equal(await texto(), '9007199254740993', 'the row is untouched')
      // Paying 1.00 leaves 9007199254740893 cents: integer arithmetic in the
      // database (float arithmetic on SQLite made it ...892), and a balance
      // that has no exact JSON number with 2 decimals is refused, not rounded.
      const pago = await postText(app, `/usuarios/${id}/pagar`, '{"monto":1}')
      t.equal(pago.status, 500, 'the payment is refused: its answer could not show the balance exactly')
      t.equal(await texto(), '9007199254740993', 'and the row is untouched')
      t.equal((await db.selectFrom('pagos').select('id').where('usuario_id', '=', id).execute()).length, 0, 'no payment recorded')
      await sql`update usuarios set saldo_centimos = cast(${String(2n ** 53n + 1n)} as bigint) - cast(100 as bigint) where id = ${id}`.execute(db)
      t.equal(await texto(), '9007199254740893', 'the database itself computes exactly')
    })
  })
}

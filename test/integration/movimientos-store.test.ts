import t from 'tap'
import { createCuentaPagosStore } from '../../usuarios/store/cuenta-pagos-store.js'
import { createCuentasStore } from '../../usuarios/store/cuentas-store.js'
import { createMovimientosStore } from '../../usuarios/store/movimientos.js'
import { dialects, freshDatabaseUrl, openTestDb, usuariosDb } from '../helpers/apps.js'
import { freshKey, procesado, storedStatementViolations } from '../helpers/statement.js'
import { migrations } from '../../usuarios/store/migrations.js'
import type { UsuariosDatabase } from '../../usuarios/store/schema.js'

/*
 * The account statement under concurrency, on SQLite and PostgreSQL: many
 * payments, top-ups and results at once on one usuario (and, on
 * PostgreSQL, through two instances on one database), then every movement's
 * saldo is the running sum and the sum is the saldo (checkStatement).
 */

for (const dialect of dialects) {
  t.test(dialect, async (t) => {
    t.test('concurrent pagar, recargar and results on one usuario: the statement adds up', async (t) => {
      const url = await freshDatabaseUrl(t, dialect, 'movimientos')
      const at = url === undefined ? { dialect: 'sqlite' as const, file: `${t.testdir()}/usuarios.sqlite` } : { dialect: 'postgres' as const, url }
      // Two instances on PostgreSQL (one database), one on SQLite (one file, one owner).
      const dbs = [await openTestDb<UsuariosDatabase>(t, migrations, at, 8)]
      if (dialect === 'postgres') dbs.push(await openTestDb<UsuariosDatabase>(t, migrations, at, 8))
      const instances = dbs.map((db) => ({ cuentas: createCuentasStore(db), pagos: createCuentaPagosStore(db, () => {}) }))
      const usuario = await instances[0]!.cuentas.create('Concurrente', 300)
      const on = (i: number) => instances[i % instances.length]!
      const accepted: Array<{ id: string, usuarioId: number, montoCentimos: number }> = []

      // Round 1: 150 payments of 1..30 cents and 50 top-ups of 3..12 at once, on 3.00: some payments are refused.
      await Promise.all(Array.from({ length: 200 }, async (_, i) => {
        if (i % 4 === 3) {
          await on(i).cuentas.recargar(usuario.id, 3 + (i % 10), i % 8 === 3 ? freshKey() : undefined)
          return
        }
        const r = await on(i).pagos.pagar({ usuarioId: usuario.id, montoCentimos: 1 + (i % 30), concepto: null, correlationId: null, idempotencyKey: i % 5 === 0 ? freshKey() : undefined })
        if (r.kind === 'accepted') accepted.push({ id: r.pago.id, usuarioId: usuario.id, montoCentimos: 1 + (i % 30) })
      }))
      t.ok(accepted.length > 10 && accepted.length < 150, `${accepted.length} payments accepted, the others refused`)

      // Round 2: every result (a third fail, each delivered twice), more payments and top-ups, all at once.
      await Promise.all([
        ...accepted.flatMap((p, i) => {
          const m = procesado(p, i % 3 === 0 ? 'fallido' : 'completado')
          return [on(i).pagos.applyPagoProcesado(m), on(i + 1).pagos.applyPagoProcesado(m)]
        }),
        ...Array.from({ length: 60 }, async (_, i) => await (i % 2 === 0
          ? on(i).pagos.pagar({ usuarioId: usuario.id, montoCentimos: 5, concepto: null, correlationId: null })
          : on(i).cuentas.recargar(usuario.id, 3)))
      ])
      t.same(await storedStatementViolations(dbs[0]!, usuario.id), [], 'every saldo is the running sum, and the sum is the saldo')
      const { n } = await dbs[0]!.selectFrom('movimientos').select((eb) => eb.fn.countAll<number>().as('n'))
        .where('usuario_id', '=', usuario.id).where('tipo', '=', 'devolucion').executeTakeFirstOrThrow()
      t.equal(Number(n), accepted.filter((_, i) => i % 3 === 0).length, 'one devolucion per failed payment, duplicates ignored')
    })

    t.test('list pages by id, and all reads every movement a page at a time', async (t) => {
      const db = await usuariosDb(t, dialect)
      const cuentas = createCuentasStore(db)
      await cuentas.seed()
      const movimientos = createMovimientosStore(db)
      for (let i = 1; i <= 9; i++) await cuentas.recargar(1, i)
      const first = await movimientos.list(1, { limit: 4 })
      if (first.kind !== 'page') throw new Error(first.kind)
      t.same(first.movimientos.map((m) => m.monto), [0.09, 0.08, 0.07, 0.06])
      t.equal(first.antes, first.movimientos[3]!.id, 'the next page starts below the last id shown')
      const rest = await movimientos.list(1, { limit: 100, antes: first.antes })
      t.match(rest, { kind: 'page', antes: undefined })
      t.equal((rest as { movimientos: unknown[] }).movimientos.length, 6, '5 top-ups and the alta')
      const all = await movimientos.all(1, 2)
      if (all.kind !== 'found') throw new Error(all.kind)
      const pages: number[][] = []
      for await (const page of all.pages) pages.push(page.map((m) => m.id))
      t.equal(pages.length, 5, '10 movements, 2 a page')
      t.same(pages.flat(), [...pages.flat()].sort((a, b) => b - a), 'newest first, no repeats')
      t.equal(new Set(pages.flat()).size, 10)
      t.same(await movimientos.list(99, { limit: 10 }), { kind: 'usuario-not-found' })
      t.same(await movimientos.all(99), { kind: 'usuario-not-found' })
      t.same(await storedStatementViolations(db, 2), [], 'Ana: just her alta')
    })
  })
}

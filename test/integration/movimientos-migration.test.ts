import { Migrator, type Kysely } from 'kysely'
import t from 'tap'
import { migrate, openDatabase } from '../../lib/storage/db.js'
import { migrations } from '../../usuarios/store/migrations.js'
import type { UsuariosDatabase } from '../../usuarios/store/schema.js'
import { dialects, freshDatabaseUrl, silent, type Test } from '../helpers/apps.js'
import { storedStatementViolations } from '../helpers/statement.js'

/*
 * Migration 0004 on a database of the previous release (at 0003, with
 * usuarios, top-ups and payments in every estado): each usuario's statement
 * is rebuilt from what it holds, in time order, and adds up to its saldo.
 */

async function open (t: Test, dialect: 'sqlite' | 'postgres'): Promise<Kysely<any>> {
  const url = await freshDatabaseUrl(t, dialect, 'usuarios')
  const db = openDatabase<any>({ url, sqliteFile: `${t.testdir()}/usuarios.sqlite`, synchronous: 'NORMAL', poolMax: 2, name: 'test', logger: silent })
  t.teardown(async () => { await db.destroy() })
  return db
}

const at = (s: number): string => new Date(Date.UTC(2026, 0, 15, 10, 0, s)).toISOString()

for (const dialect of dialects) {
  t.test(`${dialect}: a database of the previous release gets its statement rebuilt`, async (t) => {
    const db = await open(t, dialect)
    const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } })
    t.equal((await migrator.migrateTo('0003_correlation_id')).error, undefined, 'migrated to 0003 as the previous release did')
    const usuario = async (nombre: string, inicial: number, saldo: number): Promise<number> =>
      (await db.insertInto('usuarios').values({ nombre, saldo_centimos: saldo, saldo_inicial_centimos: inicial, creado_en: at(0) }).returning('id').executeTakeFirstOrThrow()).id
    const pago = async (id: string, usuarioId: number, monto: number, estado: string, creado: string, actualizado = creado): Promise<void> => {
      await db.insertInto('pagos').values({ id, usuario_id: usuarioId, monto_centimos: monto, concepto: null, estado, motivo: null, correlation_id: null, creado_en: creado, actualizado_en: actualizado }).execute()
    }
    // Ana: 1000 + 500 - 1200 (fallido, back) - 300 - 100 (pendiente) = 1100.
    const ana = await usuario('Ana', 1000, 1100)
    const recarga = (await db.insertInto('recargas').values({ usuario_id: ana, monto_centimos: 500, creado_en: at(1) }).returning('id').executeTakeFirstOrThrow()).id
    // At the same instant as the top-up it needed: money in goes first.
    await pago('p2', ana, 1200, 'fallido', at(1), at(4))
    await pago('p1', ana, 300, 'completado', at(2), at(3))
    await pago('p3', ana, 100, 'pendiente', at(5))
    const eva = await usuario('Eva', 0, 0)
    const luis = await usuario('Luis', 200, 0)
    await pago('p4', luis, 200, 'completado', at(2), at(2))

    await migrate(db, migrations)

    const typed = db as Kysely<UsuariosDatabase>
    const rows = async (id: number) => await typed.selectFrom('movimientos').selectAll().where('usuario_id', '=', id).orderBy('id').execute()
    t.same((await rows(ana)).map((m) => [m.tipo, m.monto_centimos, m.saldo_centimos, m.referencia, m.creado_en]), [
      ['alta', 1000, 1000, null, at(0)],
      ['recarga', 500, 1500, String(recarga), at(1)],
      ['pago', -1200, 300, 'p2', at(1)],
      ['pago', -300, 0, 'p1', at(2)],
      ['devolucion', 1200, 1200, 'p2', at(4)],
      ['pago', -100, 1100, 'p3', at(5)]
    ], 'Ana: alta, recarga, pagos and the devolucion, in time order with the running saldo')
    t.same((await rows(eva)).map((m) => [m.tipo, m.monto_centimos, m.saldo_centimos]), [['alta', 0, 0]], 'Eva: an alta of 0')
    t.same((await rows(luis)).map((m) => [m.tipo, m.monto_centimos, m.saldo_centimos]), [['alta', 200, 200], ['pago', -200, 0]])
    for (const id of [ana, eva, luis]) t.same(await storedStatementViolations(typed, id), [], `usuario ${id}: the statement adds up to the saldo`)

    t.equal((await migrator.migrateTo('0003_correlation_id')).error, undefined, '0004 can be undone (and what came after it)')
    t.notOk((await db.introspection.getTables()).some((x) => x.name === 'movimientos'), 'the table is gone')
  })

  t.test(`${dialect}: a fresh database has nothing to rebuild`, async (t) => {
    const db = await open(t, dialect)
    await migrate(db, migrations)
    const { n } = await db.selectFrom('movimientos').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
    t.equal(Number(n), 0)
  })
}

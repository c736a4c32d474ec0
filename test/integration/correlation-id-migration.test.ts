import { Migrator, sql, type Kysely } from 'kysely'
import t from 'tap'
import { migrate, openDatabase } from '../../lib/storage/db.js'
import { migrations as pagosMigrations } from '../../pagos/store/migrations.js'
import { migrations as usuariosMigrations } from '../../usuarios/store/migrations.js'
import { pagoSolicitadoRow } from '../../usuarios/store/views.js'
import type { UsuariosDatabase } from '../../usuarios/store/schema.js'
import { dialects, freshDatabaseUrl, silent, type Test } from '../helpers/apps.js'

/*
 * usuarios named a payment's correlation id `request_id`, pagos and the outbox
 * `correlation_id`. Migration 0003 renames usuarios' column: a database from
 * the previous release upgrades in place and every payment keeps its id.
 */

async function open (t: Test, dialect: 'sqlite' | 'postgres', label: string): Promise<Kysely<any>> {
  const url = await freshDatabaseUrl(t, dialect, label)
  const db = openDatabase<any>({ url, sqliteFile: `${t.testdir()}/${label}.sqlite`, synchronous: 'NORMAL', poolMax: 2, name: 'test', logger: silent })
  t.teardown(async () => { await db.destroy() })
  return db
}

async function columnsOf (db: Kysely<any>, table: string): Promise<string[]> {
  const tables = await db.introspection.getTables()
  return tables.find((x) => x.name === table)?.columns.map((c) => c.name).sort() ?? []
}

for (const dialect of dialects) {
  t.test(`${dialect}: a usuarios database of the previous release keeps each payment's correlation id`, async (t) => {
    const db = await open(t, dialect, 'usuarios')
    const migrator = new Migrator({ db, provider: { getMigrations: async () => usuariosMigrations } })
    const before = await migrator.migrateTo('0002_reenvio')
    t.equal(before.error, undefined, 'migrated to 0002 as the previous release did')
    const now = new Date().toISOString()
    await db.insertInto('usuarios').values({ nombre: 'Ana', saldo_centimos: 0, saldo_inicial_centimos: 1000, creado_en: now }).execute()
    const usuario = await db.selectFrom('usuarios').select('id').executeTakeFirstOrThrow()
    await db.insertInto('pagos').values({
      id: 'pago-antiguo', usuario_id: usuario.id, monto_centimos: 1000, concepto: 'Libro', estado: 'pendiente', motivo: null, request_id: 'req-antiguo', creado_en: now, actualizado_en: now
    }).execute()

    await migrate(db, usuariosMigrations)

    t.ok((await columnsOf(db, 'pagos')).includes('correlation_id'), 'the column is correlation_id')
    t.notOk((await columnsOf(db, 'pagos')).includes('request_id'), 'request_id is gone')
    const typed = db as Kysely<UsuariosDatabase>
    const pago = await typed.selectFrom('pagos').selectAll().where('id', '=', 'pago-antiguo').executeTakeFirstOrThrow()
    t.equal(pago.correlation_id, 'req-antiguo', 'the row kept its correlation id')
    t.match(pagoSolicitadoRow(pago), { message_id: 'pago-antiguo', correlation_id: 'req-antiguo' }, 'a re-send of it carries the same correlation id')

    // Back to 0002: the later migrations (0004 movimientos, 0005 reembolsos) are undone first, then 0003.
    const down = await migrator.migrateTo('0002_reenvio')
    t.equal(down.error, undefined, '0003 can be undone')
    const back = await sql<{ request_id: string }>`select request_id from pagos where id = 'pago-antiguo'`.execute(db)
    t.equal(back.rows[0]?.request_id, 'req-antiguo', 'undone, the row still has it')
  })

  t.test(`${dialect}: both services name the column correlation_id`, async (t) => {
    const usuarios = await open(t, dialect, 'usuarios')
    await migrate(usuarios, usuariosMigrations)
    const pagos = await open(t, dialect, 'pagos')
    await migrate(pagos, pagosMigrations)
    for (const [name, db] of [['usuarios', usuarios], ['pagos', pagos]] as const) {
      const columns = await columnsOf(db, 'pagos')
      t.ok(columns.includes('correlation_id'), `${name}.pagos.correlation_id`)
      t.notOk(columns.includes('request_id'), `${name}.pagos has no request_id`)
      t.ok((await columnsOf(db, 'outbox')).includes('correlation_id'), `${name}.outbox.correlation_id`)
    }
  })
}

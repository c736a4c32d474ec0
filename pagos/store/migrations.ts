import { sql, type Kysely, type Migration } from 'kysely'
import { int64 } from '../../lib/storage/db.js'
import { createOutboxTable } from '../../lib/messaging/outbox-relay.js'

export const migrations: Record<string, Migration> = {
  '0001_inicial': {
    async up (db: Kysely<any>) {
      await db.schema.createTable('pagos')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('usuario_id', int64(db), (c) => c.notNull())
        .addColumn('monto_centimos', int64(db), (c) => c.notNull().check(sql`monto_centimos > 0`))
        .addColumn('concepto', 'text')
        .addColumn('estado', 'text', (c) => c.notNull().check(sql`estado in ('completado', 'fallido')`))
        .addColumn('motivo', 'text', (c) => c.notNull())
        .addColumn('correlation_id', 'text')
        .addColumn('recibido_en', 'text', (c) => c.notNull())
        .addColumn('procesado_en', 'text', (c) => c.notNull())
        .execute()
      await db.schema.createIndex('pagos_usuario').on('pagos').columns(['usuario_id', 'procesado_en']).execute()
      await db.schema.createIndex('pagos_estado').on('pagos').column('estado').execute()
      await createOutboxTable(db)
    },
    async down (db: Kysely<any>) {
      for (const t of ['outbox', 'pagos']) await db.schema.dropTable(t).execute()
    }
  }
}

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
  },
  '0002_reembolsos': {
    // The refunds pagos asked the provider for: one row per refund id (pagos/store/reembolsos-store.ts).
    async up (db: Kysely<any>) {
      await db.schema.createTable('reembolsos')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('pago_id', 'text', (c) => c.notNull().references('pagos.id'))
        .addColumn('usuario_id', int64(db), (c) => c.notNull())
        .addColumn('monto_centimos', int64(db), (c) => c.notNull().check(sql`monto_centimos > 0`))
        .addColumn('estado', 'text', (c) => c.notNull().check(sql`estado in ('completado', 'fallido')`))
        .addColumn('motivo', 'text', (c) => c.notNull())
        .addColumn('correlation_id', 'text')
        .addColumn('recibido_en', 'text', (c) => c.notNull())
        .addColumn('procesado_en', 'text', (c) => c.notNull())
        .execute()
      await db.schema.createIndex('reembolsos_pago').on('reembolsos').column('pago_id').execute()
    },
    async down (db: Kysely<any>) {
      await db.schema.dropTable('reembolsos').execute()
    }
  }
}

import { sql, type Kysely, type Migration } from 'kysely'
import { int64, serialKey } from '../../lib/storage/db.js'
import { createOutboxTable } from '../../lib/messaging/outbox-relay.js'

export const migrations: Record<string, Migration> = {
  '0001_inicial': {
    // Valid on SQLite and PostgreSQL: lib/storage/db.ts picks the integer types.
    async up (db: Kysely<any>) {
      const cents = int64(db)
      await db.schema.createTable('usuarios')
        .addColumn('id', ...serialKey(db))
        .addColumn('nombre', 'text', (c) => c.notNull())
        .addColumn('saldo_centimos', cents, (c) => c.notNull().check(sql`saldo_centimos >= 0`))
        .addColumn('saldo_inicial_centimos', cents, (c) => c.notNull().check(sql`saldo_inicial_centimos >= 0`))
        .addColumn('creado_en', 'text', (c) => c.notNull())
        .execute()
      await db.schema.createTable('recargas')
        .addColumn('id', ...serialKey(db))
        .addColumn('usuario_id', int64(db), (c) => c.notNull().references('usuarios.id'))
        .addColumn('monto_centimos', cents, (c) => c.notNull().check(sql`monto_centimos > 0`))
        .addColumn('creado_en', 'text', (c) => c.notNull())
        .execute()
      await db.schema.createTable('pagos')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('usuario_id', int64(db), (c) => c.notNull().references('usuarios.id'))
        .addColumn('monto_centimos', cents, (c) => c.notNull().check(sql`monto_centimos > 0`))
        .addColumn('concepto', 'text')
        .addColumn('estado', 'text', (c) => c.notNull().check(sql`estado in ('pendiente', 'completado', 'fallido')`))
        .addColumn('motivo', 'text')
        .addColumn('request_id', 'text')
        .addColumn('creado_en', 'text', (c) => c.notNull())
        .addColumn('actualizado_en', 'text', (c) => c.notNull())
        .execute()
      await db.schema.createIndex('pagos_usuario').on('pagos').columns(['usuario_id', 'creado_en']).execute()
      await db.schema.createTable('idempotencia')
        .addColumn('usuario_id', int64(db), (c) => c.notNull())
        .addColumn('operacion', 'text', (c) => c.notNull())
        .addColumn('clave', 'text', (c) => c.notNull())
        .addColumn('huella', 'text', (c) => c.notNull())
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('respuesta', 'text', (c) => c.notNull())
        .addColumn('creado_en', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('idempotencia_pk', ['usuario_id', 'operacion', 'clave'])
        .execute()
      await db.schema.createIndex('idempotencia_creado').on('idempotencia').column('creado_en').execute()
      await createOutboxTable(db)
    },
    async down (db: Kysely<any>) {
      for (const t of ['outbox', 'idempotencia', 'pagos', 'recargas', 'usuarios']) await db.schema.dropTable(t).execute()
    }
  },
  '0002_reenvio': {
    // When usuarios last re-sent pago.solicitado for a payment still pendiente
    // (null: never). The sweep (usuarios/resend-sweep.ts) reads it to space re-sends.
    async up (db: Kysely<any>) {
      await db.schema.alterTable('pagos').addColumn('reenviado_en', 'text').execute()
      await db.schema.createIndex('pagos_estado_creado').on('pagos').columns(['estado', 'creado_en']).execute()
    },
    async down (db: Kysely<any>) {
      await db.schema.dropIndex('pagos_estado_creado').execute()
      await db.schema.alterTable('pagos').dropColumn('reenviado_en').execute()
    }
  },
  '0003_correlation_id': {
    // The request id a payment came with is its correlation id from here on,
    // named as in pagos' database and the outbox. A rename: every row keeps
    // its value (ALTER TABLE … RENAME COLUMN, SQLite 3.25+ and PostgreSQL).
    async up (db: Kysely<any>) {
      await db.schema.alterTable('pagos').renameColumn('request_id', 'correlation_id').execute()
    },
    async down (db: Kysely<any>) {
      await db.schema.alterTable('pagos').renameColumn('correlation_id', 'request_id').execute()
    }
  },
  '0004_movimientos': {
    // The account statement: one row per change of a saldo, written in the
    // transaction that changes it (usuarios/store/movimientos.ts).
    async up (db: Kysely<any>) {
      const cents = int64(db)
      await db.schema.createTable('movimientos')
        .addColumn('id', ...serialKey(db))
        .addColumn('usuario_id', int64(db), (c) => c.notNull().references('usuarios.id'))
        .addColumn('tipo', 'text', (c) => c.notNull().check(sql`tipo in ('alta', 'recarga', 'pago', 'devolucion', 'reembolso')`))
        .addColumn('monto_centimos', cents, (c) => c.notNull())
        .addColumn('saldo_centimos', cents, (c) => c.notNull().check(sql`saldo_centimos >= 0`))
        .addColumn('referencia', 'text')
        .addColumn('creado_en', 'text', (c) => c.notNull())
        .execute()
      await db.schema.createIndex('movimientos_usuario').on('movimientos').columns(['usuario_id', 'id']).execute()
      await backfillMovimientos(db)
    },
    async down (db: Kysely<any>) {
      await db.schema.dropTable('movimientos').execute()
    }
  },
  '0005_reembolsos': {
    // Refunds of completed payments (usuarios/store/reembolsos-store.ts).
    // `idempotencia.operacion` is plain text: 'reembolsar' needs no change there.
    async up (db: Kysely<any>) {
      const cents = int64(db)
      await db.schema.createTable('reembolsos')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('pago_id', 'text', (c) => c.notNull().references('pagos.id'))
        .addColumn('usuario_id', int64(db), (c) => c.notNull().references('usuarios.id'))
        .addColumn('monto_centimos', cents, (c) => c.notNull().check(sql`monto_centimos > 0`))
        .addColumn('motivo', 'text')
        .addColumn('estado', 'text', (c) => c.notNull().check(sql`estado in ('pendiente', 'completado', 'fallido')`))
        .addColumn('motivo_fallo', 'text')
        .addColumn('correlation_id', 'text')
        .addColumn('creado_en', 'text', (c) => c.notNull())
        .addColumn('actualizado_en', 'text', (c) => c.notNull())
        .addColumn('reenviado_en', 'text')
        .execute()
      await db.schema.createIndex('reembolsos_pago').on('reembolsos').columns(['pago_id', 'creado_en']).execute()
      await db.schema.createIndex('reembolsos_estado_creado').on('reembolsos').columns(['estado', 'creado_en']).execute()
    },
    async down (db: Kysely<any>) {
      await db.schema.dropTable('reembolsos').execute()
    }
  }
}

/**
 * A database of an earlier release gets its whole statement rebuilt from
 * what it holds: each usuario's `alta` (saldo_inicial_centimos at its
 * creado_en), each top-up as `recarga`, each payment as `pago` (negative,
 * at its creado_en) and each `fallido` one as `devolucion` (at its
 * actualizado_en). Per usuario in time order, with the running saldo as a
 * window sum; at equal instants money in (alta, recarga, devolucion) goes
 * before money out (pago), so no running saldo is ever below the true one
 * at the same instant. The last running saldo is the usuario's saldo
 * (inicial + recargas - pagos + devoluciones). The rows are inserted in that
 * order, so ids follow time. A fresh database has nothing to rebuild.
 */
async function backfillMovimientos (db: Kysely<any>): Promise<void> {
  const historia = sql`
    select id as usuario_id, 'alta' as tipo, saldo_inicial_centimos as monto, cast(null as text) as referencia, creado_en as fecha, 0 as orden from usuarios
    union all select usuario_id, 'recarga', monto_centimos, cast(id as text), creado_en, 1 from recargas
    union all select usuario_id, 'devolucion', monto_centimos, id, actualizado_en, 2 from pagos where estado = 'fallido'
    union all select usuario_id, 'pago', -monto_centimos, id, creado_en, 3 from pagos`
  await sql`
    insert into movimientos (usuario_id, tipo, monto_centimos, saldo_centimos, referencia, creado_en)
    select usuario_id, tipo, monto,
      sum(monto) over (partition by usuario_id order by fecha, orden, referencia rows between unbounded preceding and current row),
      referencia, fecha
    from (${historia}) h
    order by usuario_id, fecha, orden, referencia`.execute(db)
}

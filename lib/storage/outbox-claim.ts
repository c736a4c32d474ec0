import type { Insertable, Kysely, Selectable } from 'kysely'
import type { OutboxClaim, OutboxDatabase, OutboxTable } from '../messaging/outbox-relay.js'
import { dialectOf } from './db.js'
import { sqliteStatements, type SqliteStatements } from './sqlite.js'
import type { Transact } from './group-commit.js'

/*
 * How a relay takes rows from its database's outbox: the two dialects need
 * two claims (one relay per SQLite file; several relays on one PostgreSQL
 * database).
 */

/**
 * SQLite, one relay per database file: read, publish, delete. Given the
 * service's group commit, the read and the delete are hand-written
 * statements (lib/storage/sqlite.ts) in units of it: the read sees only what
 * commits with or before it (a unit's result is handed back after its
 * group's COMMIT), and the delete joins the writes of that turn instead of
 * paying an fsync of its own. Without one (tests), Kysely queries. Either
 * way on the database outboxClaim was given (the relay's own).
 */
function claimInOrder ({ read, remove }: ReturnType<typeof sqliteSteps>): OutboxClaim {
  return async (_db, batch, publish) => {
    const rows = await read(batch)
    if (rows.length === 0) return 0
    await publish(rows)
    // The rows read are exactly the ids from the first to the last: ids only
    // grow (AUTOINCREMENT) and this relay is the file's only reader, so no
    // other row can lie in between. A range is also one SQL text, where
    // `IN (?, ?, …)` made one prepared statement per batch size.
    await remove(rows[0]!.id, rows.at(-1)!.id)
    return rows.length
  }
}

/** claimInOrder's read (the first `batch` rows in id order) and delete (ids `first` to `last`, both included). */
function sqliteSteps (db: Kysely<OutboxDatabase>, transact: Transact<OutboxDatabase> | undefined): {
  read: (batch: number) => Promise<Array<Selectable<OutboxTable>>>
  remove: (first: number, last: number) => Promise<unknown>
} {
  const st = sqliteStatements(db)
  if (transact !== undefined && st !== undefined) {
    return {
      read: async (batch) => await transact(async () => st.statement(SELECT_BATCH).all(batch) as Array<Selectable<OutboxTable>>),
      remove: async (first, last) => await transact(async () => st.statement(DELETE_RANGE).run(first, last))
    }
  }
  return {
    read: async (batch) => await db.selectFrom('outbox').selectAll().orderBy('id').limit(batch).execute(),
    remove: async (first, last) => await db.deleteFrom('outbox').where('id', '>=', first).where('id', '<=', last).execute()
  }
}

const SELECT_BATCH = 'select id, tipo, message_id, correlation_id, payload, creado_en from outbox order by id limit ?'
const DELETE_RANGE = 'delete from outbox where id >= ? and id <= ?'
const INSERT = 'insert into outbox (tipo, message_id, correlation_id, payload, creado_en) values (?, ?, ?, ?, ?)'

/**
 * SQLite: writes an outbox row (outbox-relay.ts outboxRow) with a
 * hand-written statement; for the stores' hand-written hot steps
 * (usuarios/store/sqlite-hot.ts, pagos/store/sqlite-hot.ts), inside their
 * unit of work of the group commit.
 */
export function insertOutboxRow (st: SqliteStatements, row: Insertable<OutboxTable>): void {
  st.statement(INSERT).run(row.tipo, row.message_id, row.correlation_id, row.payload, row.creado_en)
}

/**
 * PostgreSQL: several relays (one per instance) share the table. Each takes
 * a batch in one statement, `DELETE ... WHERE id IN (SELECT ... FOR UPDATE
 * SKIP LOCKED) RETURNING *`, in a transaction that stays open until the
 * broker has confirmed every row: the delete commits only after the
 * confirms, and a failed publish (or a relay that dies mid-batch) rolls it
 * back, so the rows go to the next claim (at least once). No row is
 * published by two relays at once, and a relay never waits for another's
 * batch. Three round trips per batch: BEGIN, the DELETE, COMMIT.
 */
const claimSkipLocked: OutboxClaim = async (db, batch, publish) =>
  await db.transaction().execute(async (trx) => {
    const rows = await trx.deleteFrom('outbox')
      .where('id', 'in', (eb) => eb.selectFrom('outbox').select('id').orderBy('id').limit(batch).forUpdate().skipLocked())
      .returningAll().execute()
    if (rows.length === 0) return 0
    // RETURNING gives no order: publish in id order, as on SQLite.
    await publish(rows.sort((a, b) => a.id - b.id))
    return rows.length
  })

/**
 * How this database's relay claims outbox rows. `transact` (the service's
 * group commit, lib/storage/group-commit.ts) is used on SQLite only, so that
 * the relay's delete shares an fsync with the payment writes of its turn.
 */
export function outboxClaim (db: Kysely<OutboxDatabase>, transact?: Transact<OutboxDatabase>): OutboxClaim {
  return dialectOf(db) === 'postgres' ? claimSkipLocked : claimInOrder(sqliteSteps(db, transact))
}

import { sql, type Kysely, type Transaction } from 'kysely'
import { dialectOf } from './db.js'
import { sqliteStatements } from './sqlite.js'

/**
 * Runs a unit of work in a transaction and resolves once it has committed.
 * A unit only talks to the database: on SQLite it holds the one connection
 * for its whole group, so it must not wait on anything else (a broker, a timer).
 */
export type Transact<DB> = <T>(work: (trx: Transaction<DB>) => Promise<T>) => Promise<T>

/** Units of work committed together at most; the rest wait for the next turn of the event loop. */
export const GROUP_COMMIT_MAX = 100

/*
 * SQLite errors that concern the database, not one unit of work: the whole
 * group fails (each caller gets the error and retries as after any failed
 * commit) instead of every unit waiting out its own busy timeout.
 */
const DATABASE_WIDE = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CORRUPT|NOMEM|READONLY|CANTOPEN|NOTADB|PROTOCOL)/

interface Pending<DB> {
  work: (trx: Transaction<DB>) => Promise<unknown>
  resolve: (value: unknown) => void
  reject: (err: unknown) => void
}

type Outcome = { ok: true, value: unknown } | { ok: false, error: unknown }

/**
 * Group commit for SQLite. With `synchronous = FULL` every COMMIT waits for
 * an fsync of the WAL (0.4–0.7 ms here, on the one thread that also serves
 * HTTP and AMQP), so one transaction per payment step made fsync the limit of
 * the whole pipeline (bench/FINDINGS.md §1). Units of work submitted in the
 * same turn of the event loop (the HTTP requests and deliveries read from the
 * sockets in that turn) run in one transaction, each inside its own
 * SAVEPOINT, and commit with one fsync. Nothing about durability changes:
 * each unit still commits its effect and its outbox row together, and its
 * promise resolves only after the COMMIT (so the 202, or the ack, still
 * follows a durable write). A unit that throws rolls back to its savepoint
 * and rejects alone; the others commit. The batch grows with the load and is
 * 1 when idle, so a quiet system pays no added latency beyond one
 * `setImmediate`.
 *
 * PostgreSQL gets a plain transaction per unit: its connections commit in
 * parallel, and the server already groups their WAL flushes. Its hot steps
 * (a payment, a `completado` result, pagos' record) batch on their own, one
 * statement per turn (lib/storage/turn-batch.ts), which saves the round
 * trips savepoints would still cost.
 */
export function createTransact<DB> (db: Kysely<DB>, maxBatch = GROUP_COMMIT_MAX): Transact<DB> {
  if (dialectOf(db) === 'postgres') return async (work) => await db.transaction().execute(work)

  const queue: Array<Pending<DB>> = []
  let scheduled = false
  // The savepoints are hand-written statements on the transaction's connection: three Kysely queries per unit saved.
  const statements = sqliteStatements(db)
  const run = (text: string, trx: Transaction<DB>): Promise<unknown> | undefined => {
    if (statements === undefined) return sql.raw(text).execute(trx)
    statements.statement(text).run()
    return undefined
  }

  const schedule = (): void => {
    if (scheduled || queue.length === 0) return
    scheduled = true
    setImmediate(() => { void flush() })
  }

  async function flush (): Promise<void> {
    const batch = queue.splice(0, maxBatch)
    const outcomes: Outcome[] = []
    try {
      await db.transaction().execute(async (trx) => {
        if (batch.length === 1) {
          outcomes.push({ ok: true, value: await batch[0]!.work(trx) })
          return
        }
        for (const unit of batch) {
          await run('savepoint unidad', trx)
          try {
            const value = await unit.work(trx)
            await run('release unidad', trx)
            outcomes.push({ ok: true, value })
          } catch (error) {
            if (DATABASE_WIDE.test(String((error as { code?: unknown }).code))) throw error
            await run('rollback to unidad', trx)
            await run('release unidad', trx)
            outcomes.push({ ok: false, error })
          }
        }
      })
      batch.forEach((unit, i) => {
        const outcome = outcomes[i]!
        if (outcome.ok) unit.resolve(outcome.value)
        else unit.reject(outcome.error)
      })
    } catch (error) {
      // The transaction rolled back: nothing of any unit was written.
      for (const unit of batch) unit.reject(error)
    } finally {
      scheduled = false
      schedule()
    }
  }

  return async <T>(work: (trx: Transaction<DB>) => Promise<T>): Promise<T> =>
    await new Promise<T>((resolve, reject) => {
      queue.push({ work, resolve: resolve as (value: unknown) => void, reject })
      schedule()
    })
}

import Database from 'better-sqlite3'
import { sql, type Kysely } from 'kysely'
import t from 'tap'
import { openDatabase } from '../../lib/storage/db.js'
import { createTransact } from '../../lib/storage/group-commit.js'
import { silent } from '../helpers/apps.js'

interface Db { filas: { id: number, unidad: number } }

async function open (t: Parameters<Parameters<typeof t.test>[0]>[0]): Promise<{ db: Kysely<Db>, file: string, other: Database.Database }> {
  const file = `${t.testdir()}/gc.sqlite`
  const db = openDatabase<Db>({ url: undefined, sqliteFile: file, synchronous: 'FULL', poolMax: 1, name: 'test', logger: silent })
  await sql`create table filas (id integer primary key, unidad integer not null)`.execute(db)
  // A second connection, as another process would see the file.
  const other = new Database(file)
  t.teardown(async () => { other.close(); await db.destroy() })
  return { db, file, other }
}

const count = (other: Database.Database): number => (other.prepare('select count(*) as n from filas').get() as { n: number }).n

t.test('units submitted in one turn commit together, and each resolves only after the commit', async (t) => {
  const { db, other } = await open(t)
  const transact = createTransact(db)
  const seenByOthers: number[] = []
  const results = await Promise.all(Array.from({ length: 50 }, async (_, i) => await transact(async (trx) => {
    // What another connection sees while this unit runs: nothing of the earlier units yet.
    seenByOthers.push(count(other))
    await trx.insertInto('filas').values({ unidad: i }).execute()
    return i
  })))
  t.same(results, Array.from({ length: 50 }, (_, i) => i), 'each caller gets its own unit\'s value')
  t.same([...new Set(seenByOthers)], [0], 'no unit was visible outside before the group committed')
  t.equal(count(other), 50, 'all 50 visible once the promises resolved')
})

t.test('a unit that throws rolls back alone; the rest of its group commits', async (t) => {
  const { db, other } = await open(t)
  const transact = createTransact(db)
  const outcomes = await Promise.allSettled(Array.from({ length: 10 }, async (_, i) => await transact(async (trx) => {
    await trx.insertInto('filas').values({ unidad: i }).execute()
    if (i % 3 === 0) throw new Error(`unidad ${i} rechazada`)
    await trx.insertInto('filas').values({ unidad: i }).execute()
  })))
  t.same(outcomes.map((o) => o.status), outcomes.map((_, i) => i % 3 === 0 ? 'rejected' : 'fulfilled'))
  t.match((outcomes[3] as PromiseRejectedResult).reason, { message: 'unidad 3 rechazada' }, 'with its own error')
  const rows = other.prepare('select unidad from filas order by id').all() as Array<{ unidad: number }>
  t.same(rows.map((r) => r.unidad), [1, 1, 2, 2, 4, 4, 5, 5, 7, 7, 8, 8], 'both rows of every other unit, none of a failed one')
})

t.test('a group is at most maxBatch units; the rest commit in the next one', async (t) => {
  const { db, other } = await open(t)
  const transact = createTransact(db, 4)
  const seenByOthers: number[] = []
  await Promise.all(Array.from({ length: 10 }, async (_, i) => await transact(async (trx) => {
    seenByOthers.push(count(other))
    await trx.insertInto('filas').values({ unidad: i }).execute()
  })))
  t.same(seenByOthers, [0, 0, 0, 0, 4, 4, 4, 4, 8, 8], 'groups of 4, 4 and 2, each seeing the groups before it committed')
})

t.test('a database-wide error (locked by another process) fails the whole group and writes nothing', async (t) => {
  const { db, other } = await open(t)
  other.pragma('busy_timeout = 0')
  const transact = createTransact(db)
  // Another connection holds the write lock for longer than our busy timeout would wait.
  other.exec('begin immediate')
  await sql`pragma busy_timeout = 50`.execute(db)
  const outcomes = await Promise.allSettled(Array.from({ length: 5 }, async (_, i) => await transact(async (trx) => {
    await trx.insertInto('filas').values({ unidad: i }).execute()
  })))
  other.exec('rollback')
  t.same(outcomes.map((o) => o.status), Array(5).fill('rejected'), 'every unit of the group fails')
  t.match((outcomes[4] as PromiseRejectedResult).reason, { code: /^SQLITE_BUSY/ }, 'with the database\'s error, at once rather than one timeout per unit')
  t.equal(count(other), 0, 'nothing written')
  await transact(async (trx) => await trx.insertInto('filas').values({ unidad: 99 }).execute())
  t.equal(count(other), 1, 'the next group commits once the lock is gone')
})

'use strict'
/*
 * What a commit costs on this disk, without the services:
 *   node bench/sqlite-commit.cjs [items=3000]
 * WAL mode like lib/storage/sqlite.ts; each "item" is two 200-byte inserts (a payment
 * and its outbox row). Compares one transaction per item with 100 items per
 * transaction (group commit), for synchronous = FULL and NORMAL, and the cost
 * of a prepare() (Kysely's SQLite driver prepares every statement it runs).
 */
const { mkdtempSync, rmSync } = require('node:fs')
const { tmpdir } = require('node:os')
const { join } = require('node:path')
const Database = require(join(__dirname, '..', 'node_modules', 'better-sqlite3'))

const N = Number(process.argv[2] ?? 3000)
const usPerItem = (t0, n) => (Number(process.hrtime.bigint() - t0) / n / 1000).toFixed(1)

for (const sync of ['FULL', 'NORMAL']) {
  const dir = mkdtempSync(join(tmpdir(), 'sqlite-commit-'))
  const db = new Database(join(dir, 'x.sqlite'))
  db.pragma('journal_mode = WAL')
  db.pragma(`synchronous = ${sync}`)
  db.exec('create table t (id integer primary key, a text, b integer)')
  const a = 'x'.repeat(200)

  let t0 = process.hrtime.bigint()
  for (let i = 0; i < N; i++) {
    db.prepare('begin').run()
    db.prepare('insert into t (a, b) values (?, ?)').run(a, i)
    db.prepare('insert into t (a, b) values (?, ?)').run(a, i)
    db.prepare('commit').run()
  }
  const single = usPerItem(t0, N)

  const insert = db.prepare('insert into t (a, b) values (?, ?)')
  const hundred = db.transaction(() => { for (let i = 0; i < 100; i++) { insert.run(a, i); insert.run(a, i) } })
  t0 = process.hrtime.bigint()
  for (let i = 0; i < N / 100; i++) hundred()
  const grouped = usPerItem(t0, N)

  t0 = process.hrtime.bigint()
  for (let i = 0; i < N; i++) db.prepare('insert into t (a, b) values (?, ?)')
  const prepare = usPerItem(t0, N)

  console.log(`synchronous=${sync}: one transaction per item ${single} µs/item; 100 items per transaction ${grouped} µs/item; prepare() ${prepare} µs`)
  db.close()
  rmSync(dir, { recursive: true, force: true })
}

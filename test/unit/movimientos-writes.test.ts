import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'

/*
 * Every write of a saldo in usuarios' stores comes with its movement: in
 * each store file, each UPDATE or INSERT of the `usuarios` table is matched
 * by a call of appendMovimiento, or — in a hand-written statement that does
 * both (usuarios/store/one-statement.ts) — by an `insert into movimientos`
 * of its own (the property tests check what they write).
 * A new saldo change without its movement fails here first.
 */

const STORE = join(import.meta.dirname, '../../usuarios/store')
const count = (text: string, re: RegExp): number => text.match(re)?.length ?? 0

t.test('every saldo write in usuarios/store appends a movement', async (t) => {
  const files = readdirSync(STORE).filter((f) => f.endsWith('.ts') && f !== 'migrations.ts' && f !== 'movimientos.ts')
  let writes = 0
  for (const file of files) {
    const text = readFileSync(join(STORE, file), 'utf8')
    const saldoWrites = count(text, /(updateTable|insertInto)\(\s*'usuarios'\s*\)/g) + count(text, /\b(update|insert\s+into)\s+usuarios\b/gi)
    // appendAlta (cuentas-store.ts) is one movement: its own body is not counted again.
    const calls = text.replace(/async function appendAlta [\s\S]*?\n}\n/, '')
    const appends = count(calls, /\bappend(Movimiento|Alta)\s*\(/g) + count(text, /\binsert\s+into\s+movimientos\b/gi)
    writes += saldoWrites
    t.equal(appends, saldoWrites, `${file}: ${saldoWrites} writes of usuarios, ${appends} movements appended`)
  }
  t.ok(writes >= 5, `the writes are found (${writes}: seed, create, recargar, pagar, devolucion)`)
})

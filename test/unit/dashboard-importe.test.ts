import { readFileSync } from 'node:fs'
import { runInNewContext } from 'node:vm'
import fc from 'fast-check'
import t from 'tap'
import { MONTO_MAXIMO_CENTIMOS, SALDO_MAXIMO_CENTIMOS, fromCentimos } from '../../contracts/money.js'
import { buildGatewayApp } from '../../gateway/app.js'
import { loadGatewayConfig } from '../../gateway/config.js'
import { silent } from '../helpers/apps.js'

/*
 * The dashboard's amount field (gateway/public/importe.js, run here as the
 * browser runs it): it accepts what the page itself shows — balances are
 * shown "10.000.740,28" (es-ES) — and the plain forms people type, with the
 * API's rule: at most 2 decimals, exact cents, within the limits. Issue 12:
 * "1.234,56" was refused.
 */

interface ImporteModule {
  centimos: (texto: string) => number | undefined
  leer: (texto: string, opciones?: { ceroValido?: boolean, saldo?: boolean }) => number | undefined
  MONTO_MAXIMO_CENTIMOS: number
  SALDO_MAXIMO_CENTIMOS: number
}

const source = readFileSync(new URL('../../gateway/public/importe.js', import.meta.url), 'utf8')
const sandbox: { window: { Importe?: ImporteModule } } = { window: {} }
runInNewContext(source, sandbox)
const Importe = sandbox.window.Importe!
/** How the page shows money (dom.js's `money`). */
const dinero = new Intl.NumberFormat('es-ES', { minimumFractionDigits: 2, maximumFractionDigits: 2, useGrouping: 'always' })

t.test('the page\'s limits are the API\'s', async (t) => {
  t.equal(Importe.MONTO_MAXIMO_CENTIMOS, MONTO_MAXIMO_CENTIMOS)
  t.equal(Importe.SALDO_MAXIMO_CENTIMOS, SALDO_MAXIMO_CENTIMOS)
})

t.test('what the page shows, and what people type, is read exactly', async (t) => {
  const ok: Array<[string, number]> = [
    ['1.234,56', 1234.56],
    ['10.000.740,28', 10000740.28],
    ['1234,56', 1234.56],
    ['1234.56', 1234.56],
    ['12,5', 12.5],
    ['12.5', 12.5],
    ['25', 25],
    ['1.000', 1000],
    ['1.000.000', 1000000],
    ['1.234.567,89', 1234567.89],
    [' 7,00 ', 7],
    ['1 234,56', 1234.56],
    ['0,01', 0.01],
    ['1.000.000.000,00', 1000000000]
  ]
  for (const [texto, monto] of ok) t.equal(Importe.leer(texto), monto, `"${texto}" → ${monto}`)
  const bad = ['', '0', '0,00', '-5', '12,345', '1,234.56', '1.23,45', '1.2345', '12.', ',5', 'abc', '1e3', '1.000.000.000,01', '10.000.000.000', '12,5,0', '١٢']
  for (const texto of bad) t.equal(Importe.leer(texto), undefined, `"${texto}" is refused`)
  t.equal(Importe.leer('0', { ceroValido: true }), 0, 'an initial balance may be 0')
  t.equal(Importe.leer('10.000.000.000,00', { ceroValido: true, saldo: true }), 10_000_000_000, 'an initial balance up to the ceiling')
  t.equal(Importe.leer('10.000.000.000,01', { ceroValido: true, saldo: true }), undefined)
})

t.test('property: every amount the page can show reads back as the same cents', async (t) => {
  const cents = fc.oneof(fc.integer({ min: 1, max: MONTO_MAXIMO_CENTIMOS }), fc.integer({ min: 1, max: 1_000_000 }))
  fc.assert(fc.property(cents, (c) => {
    const shown = dinero.format(fromCentimos(c))
    return Importe.centimos(shown) === c && Importe.leer(shown) === fromCentimos(c)
  }), { numRuns: 20_000 })
  t.pass('20,000 amounts shown and read back')
})

t.test('the page loads importe.js before app.js and reads amounts through it', async (t) => {
  const html = readFileSync(new URL('../../gateway/public/index.html', import.meta.url), 'utf8')
  t.ok(html.indexOf('src="/importe.js"') > 0 && html.indexOf('src="/importe.js"') < html.indexOf('src="/app.js"'), 'importe.js first')
  // app.js's forms read amounts through forms.js's readAmount.
  const forms = readFileSync(new URL('../../gateway/public/forms.js', import.meta.url), 'utf8')
  t.match(forms, /window\.Importe\.leer\(/)
})

t.test('the gateway serves importe.js under the page\'s Content-Security-Policy', async (t) => {
  const gateway = buildGatewayApp(loadGatewayConfig({ LOG_DIR: t.testdir(), USUARIOS_URL: 'http://127.0.0.1:9', PAGOS_URL: 'http://127.0.0.1:9' }), silent)
  t.teardown(async () => { await gateway.close() })
  const res = await gateway.inject('/importe.js')
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /javascript/)
  t.match(res.headers['content-security-policy'], /script-src 'self'/)
  t.equal(res.body, source)
})

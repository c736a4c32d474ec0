import { readFileSync } from 'node:fs'
import type { Browser, Page } from 'playwright-core'
import t from 'tap'
import { startSystem, type System } from '../../lib/launch/system.js'
import { DESKTOP, launchChromium, screenshot, skipWithoutChromium as skip, watchErrors } from '../helpers/browser.js'

// Refunds and the statement in the dashboard, in a real headless Chromium,
// against the built services with API keys on (`npm run build` first).
const KEY = 'clave-del-panel-0123456789'

let sys: System | undefined
let browser: Browser | undefined
t.teardown(async () => {
  await browser?.close()
  await sys?.stop()
})

const fila = (page: Page, tabla: string, texto: string) => page.locator(`#${tabla} tbody tr`, { hasText: texto })

t.test('dashboard: a wrong key, amounts as shown, a refused payment, a partial refund, the statement and its CSV', { skip }, async (t) => {
  sys = await startSystem('dashboard-reembolsos', { GATEWAY_API_KEYS: KEY })
  browser = await launchChromium()
  const page = await browser.newPage(DESKTOP)
  const errors = watchErrors(page)
  page.setDefaultTimeout(20_000)
  await page.goto(`${sys.gateway.url}/`)

  // A wrong key is not "no key", and the status line does not claim it works.
  await page.getByLabel('Clave', { exact: true }).fill('no-es-la-clave')
  await page.getByRole('button', { name: 'Guardar clave' }).click()
  await page.locator('#error', { hasText: 'rechaza la clave de API guardada: no es válida' }).waitFor()
  await page.locator('#clave-estado', { hasText: 'rechazó la clave' }).waitFor()
  t.pass('a wrong key: "no es válida", and the status line says the gateway refused it')
  await page.getByLabel('Clave', { exact: true }).fill(KEY)
  await page.getByRole('button', { name: 'Guardar clave' }).click()
  await page.locator('#clave-estado', { hasText: 'aceptada por el gateway' }).waitFor()
  t.equal(await page.locator('#error').textContent(), '', 'the right key: no error, and the status line says it was accepted')

  // The amount as the page itself displays it.
  await page.getByLabel('Nombre').fill('Rita Reembolso')
  await page.getByLabel('Saldo inicial').fill('1.234,56')
  await page.getByRole('button', { name: 'Crear usuario' }).click()
  await page.locator('#cuenta-saldo', { hasText: '1.234,56' }).waitFor()
  await page.getByLabel('Importe a recargar').fill('1.000,44')
  await page.getByRole('button', { name: 'Recargar', exact: true }).click()
  await page.locator('#cuenta-saldo', { hasText: '2.235,00' }).waitFor()
  t.pass('"1.234,56" and "1.000,44" are accepted, as the page shows money')

  await page.getByLabel('Importe a pagar').fill('100')
  await page.getByLabel('Concepto').fill('Cámara')
  await page.getByRole('button', { name: 'Pagar', exact: true }).click()
  await fila(page, 'tabla-pagos', 'Cámara').locator('.estado', { hasText: 'completado' }).waitFor()
  await page.locator('#cuenta-saldo', { hasText: '2.135,00' }).waitFor()
  t.match(await page.locator('#aviso').textContent(), /Pago de 100,00/, 'a success notice')

  // A refused payment: its error next to the form, with the figures; the old notice goes.
  await page.getByLabel('Importe a pagar').fill('5.000')
  await page.getByRole('button', { name: 'Pagar', exact: true }).click()
  const refused = page.locator('#error-pagar')
  await refused.filter({ hasText: 'Saldo insuficiente' }).waitFor()
  t.match(await refused.textContent(), /el saldo es 2\.135,00 y el importe pedido 5\.000,00/, 'the 409 names the saldo and the monto')
  t.equal(await page.locator('#aviso').textContent(), '', 'the old success notice is gone')
  t.equal(await page.locator('#error').textContent(), '', 'the error is not (only) in the banner at the top')
  t.equal(await page.evaluate('document.activeElement.id'), 'error-pagar', 'the error has the focus')

  // A partial refund from the payment's row: pendiente, then completado on its own.
  await fila(page, 'tabla-pagos', 'Cámara').getByRole('button', { name: /Reembolsar/ }).click()
  await page.locator('#reembolsar-ayuda', { hasText: 'todo lo que queda, 100,00' }).waitFor()
  t.equal(await page.evaluate('document.activeElement.id'), 'reembolsar-monto', 'the refund form opens with the cursor in its amount')
  await page.getByLabel('Importe a reembolsar').fill('30,50')
  await page.getByLabel('Motivo (opcional)').fill('Llegó rota')
  await page.getByRole('button', { name: 'Solicitar reembolso' }).click()
  // The request's notice lasts until the page sees the refund completed and
  // says so instead: on a busy machine that can come before a look at the
  // page, so either notice shows the request was accepted.
  await page.locator('#aviso', { hasText: /Reembolso de 30,50 (?:solicitado: pendiente|del pago Cámara: completado)/ }).waitFor()
  await fila(page, 'tabla-reembolsos', 'Cámara').locator('.estado', { hasText: 'completado' }).waitFor()
  await page.locator('#cuenta-saldo', { hasText: '2.165,50' }).waitFor()
  await fila(page, 'tabla-pagos', 'Cámara').getByText('reembolsado 30,50').waitFor()
  t.match(await fila(page, 'tabla-reembolsos', 'Cámara').textContent(), /30,50.*Llegó rota/, 'the refund, its amount and motivo')
  t.pass('the refund turned completado without a reload; balance 2.165,50')

  // More than is left: the 409 says how much is left.
  await fila(page, 'tabla-pagos', 'Cámara').getByRole('button', { name: /Reembolsar/ }).click()
  await page.getByLabel('Importe a reembolsar').fill('80')
  await page.getByRole('button', { name: 'Solicitar reembolso' }).click()
  await page.locator('#error-reembolsar', { hasText: 'pides 80,00 y queda 69,50 por reembolsar' }).waitFor()
  t.pass('a refund above what is left is refused with both figures, next to the form')
  await page.getByRole('button', { name: 'Cancelar' }).click()

  // The statement: alta, recarga, pago, reembolso, signed, with the saldo each left.
  const movimientos = page.locator('#tabla-movimientos tbody tr')
  await fila(page, 'tabla-movimientos', 'reembolso').waitFor()
  const rows = await movimientos.evaluateAll((trs) => trs.map((tr) => Array.from((tr as HTMLTableRowElement).cells, (c) => c.textContent).slice(0, 3)))
  t.same(rows, [
    ['reembolso', '+30,50', '2.165,50'],
    ['pago', '−100,00', '2.135,00'],
    ['recarga', '+1.000,44', '2.235,00'],
    ['alta', '+1.234,56', '1.234,56']
  ], 'the statement, newest first')

  // The CSV, fetched with the key and saved by the browser.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Descargar CSV' }).click()])
  const csv = readFileSync(await download.path(), 'utf8').trim().split(/\r?\n/)
  t.match(download.suggestedFilename(), /^movimientos-usuario-\d+\.csv$/)
  t.equal(csv[0], 'id,tipo,monto,saldo,fecha,referencia', 'the CSV header')
  t.same(csv.slice(1).map((l) => l.split(',').slice(1, 4)), [['reembolso', '30.5', '2165.5'], ['pago', '-100', '2135'], ['recarga', '1000.44', '2235'], ['alta', '1234.56', '1234.56']], 'the CSV rows')
  await screenshot(t, page, sys.dir, 'dashboard-reembolsos.png')

  // More than a page: "Más movimientos" brings the older ones.
  const id = page.url().split('#usuario-')[1]!
  const statuses: number[] = []
  for (let i = 1; i <= 20; i++) {
    const r = await page.request.post(`${sys.gateway.url}/usuarios/${id}/recargar`, { headers: { authorization: `Bearer ${KEY}` }, data: { monto: i } })
    statuses.push(r.status())
  }
  t.same(new Set(statuses), new Set([200]), '20 more top-ups through the API')
  // Opened afresh (the key stays in the tab): the first page is 20 of the 24.
  await page.reload()
  await page.locator('#movimientos-rango', { hasText: 'hay más antiguos' }).waitFor()
  t.equal(await movimientos.count(), 20, 'one page')
  await page.getByRole('button', { name: 'Más movimientos' }).click()
  await fila(page, 'tabla-movimientos', 'alta').waitFor()
  t.equal(await movimientos.count(), 24, 'both pages, every movement once')
  t.ok(await page.getByRole('button', { name: 'Más movimientos' }).isHidden(), 'no more to ask for')

  t.same(errors.filter((e) => !/40[19]/.test(e)), [], 'no script error or CSP violation on the page')
})

import type { Browser, Page } from 'playwright-core'
import t from 'tap'
import { startSystem, type System } from '../../lib/launch/system.js'
import { DESKTOP, launchChromium, PHONE, screenshot as save, skipWithoutChromium as skip, watchErrors } from '../helpers/browser.js'
import type { Test } from '../helpers/apps.js'

// The dashboard in a real headless Chromium (Debian's package; playwright-core
// never downloads a browser), against the built services with API keys on.
// PROCESADOR_LIMITE=100: a payment above it fails and is refunded.
const KEY = 'clave-del-panel-0123456789'

let sys: System | undefined
let browser: Browser | undefined
t.teardown(async () => {
  await browser?.close()
  await sys?.stop()
})

const screenshot = async (t: Test, page: Page, name: string): Promise<void> => await save(t, page, sys!.dir, name)

const estadoDe = (page: Page, concepto: string) => page.locator('#tabla-pagos tbody tr', { hasText: concepto }).locator('.estado')

t.test('dashboard: create a user, top up, pay, and watch the payment complete', { skip }, async (t) => {
  sys = await startSystem('dashboard', { GATEWAY_API_KEYS: KEY, PROCESADOR_LIMITE: '100' })
  browser = await launchChromium()
  const page = await browser.newPage(DESKTOP)
  const errors = watchErrors(page)
  page.setDefaultTimeout(20_000)

  await page.goto(`${sys.gateway.url}/`)
  t.equal(await page.title(), 'Panel de pagos')

  // Health needs no key; the API does.
  await page.locator('#salud-usuarios', { hasText: 'en marcha' }).waitFor()
  await page.locator('#salud-pagos', { hasText: 'en marcha' }).waitFor()
  await page.locator('#salud-rabbitmq', { hasText: 'conectado' }).waitFor()
  t.equal(await page.locator('#salud-gateway').textContent(), 'en marcha')
  await page.getByRole('alert').filter({ hasText: 'clave de API' }).waitFor()
  t.pass('without a key the page says the API wants one')

  await page.getByLabel('Clave', { exact: true }).fill(KEY)
  await page.getByRole('button', { name: 'Guardar clave' }).click()
  await page.locator('#tabla-usuarios tbody tr', { hasText: 'Willis' }).waitFor()
  t.equal(await page.evaluate('sessionStorage.getItem("pagos.claveApi")'), KEY, 'the key is kept in sessionStorage')
  t.equal(await page.locator('#error').textContent(), '', 'the error is gone')

  await page.getByLabel('Nombre').fill('Eva Navegador')
  await page.getByLabel('Saldo inicial').fill('0')
  await page.getByRole('button', { name: 'Crear usuario' }).click()
  await page.locator('#cuenta-nombre', { hasText: 'Eva Navegador' }).waitFor()
  await page.locator('#cuenta-saldo', { hasText: '0,00' }).waitFor()
  t.match(await page.getByRole('status').first().textContent(), /Usuario Eva Navegador creado/)

  await page.getByLabel('Importe a recargar').fill('500')
  await page.getByRole('button', { name: 'Recargar', exact: true }).click()
  await page.locator('#cuenta-saldo', { hasText: '500,00' }).waitFor()
  t.pass('top-up: balance 500,00')

  await page.getByLabel('Importe a pagar').fill('20')
  await page.getByLabel('Concepto').fill('Libro')
  await page.getByRole('button', { name: 'Pagar', exact: true }).click()
  await estadoDe(page, 'Libro').filter({ hasText: 'completado' }).waitFor()
  await page.locator('#cuenta-saldo', { hasText: '480,00' }).waitFor()
  t.pass('the payment turned completado without a reload; balance 480,00')
  await page.locator('#tabla-usuarios tbody tr', { hasText: 'Eva Navegador' }).filter({ hasText: '480,00' }).waitFor()
  t.pass('the users list shows the new balance')

  // Above the provider's limit: fallido, and the amount comes back.
  await page.getByLabel('Importe a pagar').fill('150,50')
  await page.getByLabel('Concepto').fill('Televisor')
  await page.getByRole('button', { name: 'Pagar', exact: true }).click()
  await estadoDe(page, 'Televisor').filter({ hasText: 'fallido' }).waitFor()
  await page.locator('#cuenta-saldo', { hasText: '480,00' }).waitFor()
  await page.getByRole('status').filter({ hasText: 'fallido, importe devuelto' }).waitFor()
  t.pass('a failed payment is announced and refunded')
  t.equal(await estadoDe(page, 'Libro').textContent(), 'completado')

  const sinEtiqueta = await page.$$eval('input, select, textarea', (els) => els.filter((e) => (e as unknown as { labels: unknown[] | null }).labels?.length === 0).map((e) => e.id))
  t.same(sinEtiqueta, [], 'every field has a label')
  await screenshot(t, page, 'dashboard.png')

  // A phone: one column, nothing wider than the screen.
  const phone = await browser.newPage(PHONE)
  const phoneErrors = watchErrors(phone)
  const id = page.url().split('#usuario-')[1]
  await phone.goto(`${sys.gateway.url}/#usuario-${id}`)
  await phone.getByLabel('Clave', { exact: true }).fill(KEY)
  await phone.getByRole('button', { name: 'Guardar clave' }).click()
  await estadoDe(phone, 'Libro').filter({ hasText: 'completado' }).waitFor()
  t.ok(await phone.evaluate('document.documentElement.scrollWidth <= window.innerWidth'), 'no horizontal scrolling on a phone')
  await screenshot(t, phone, 'dashboard-movil.png')

  // The browser asking for a JSON endpoint gets JSON, as curl does.
  const health = await page.goto(`${sys.gateway.url}/health`)
  t.match(health?.headers()['content-type'], /^application\/json/, 'GET /health in the browser is JSON')
  const refused = await page.goto(`${sys.gateway.url}/usuarios/1`)
  t.equal(refused?.status(), 401)
  t.match(refused?.headers()['content-type'], /^application\/json/, 'a 401 in the browser is JSON too')

  t.same(errors.filter((e) => !/401/.test(e)), [], 'no script error or CSP violation on the page')
  t.same(phoneErrors.filter((e) => !/401/.test(e)), [], 'none on the phone either')
})

t.test('Swagger UI and the message contracts page render in the browser', { skip }, async (t) => {
  if (sys === undefined) sys = await startSystem('dashboard-docs', { GATEWAY_API_KEYS: KEY })
  browser ??= await launchChromium()
  const page = await browser.newPage()
  page.setDefaultTimeout(20_000)
  const errors = watchErrors(page)

  await page.goto(`${sys.gateway.url}/docs`)
  await page.getByText('Solicita un pago: debita el saldo y lo deja pendiente').first().waitFor()
  await page.getByRole('button', { name: /Authorize/ }).first().waitFor()
  t.pass('Swagger UI shows the operations, and an Authorize button since keys are on')
  const logo = await page.locator('.topbar img').first().getAttribute('src')
  t.match(logo, /^data:image\/svg\+xml;base64,/, 'our own SVG logo, not the stock one')
  t.match(Buffer.from(logo!.split(',')[1]!, 'base64').toString('utf8'), /Panel de pagos/)
  const host = new URL(sys.gateway.url).host
  await page.locator('.info .description').getByText(host).first().waitFor()
  t.notMatch(await page.locator('.info .description').textContent(), /puerto 5002/, 'the description names the address the page was asked on, not a fixed port')
  await screenshot(t, page, 'docs.png')

  await page.goto(`${sys.gateway.url}/mensajes.html`)
  await page.getByRole('heading', { name: /pago\.solicitado/ }).waitFor()
  await page.getByRole('heading', { name: /pago\.procesado/ }).waitFor()
  t.ok(await page.getByRole('rowheader', { name: 'montoCentimos' }).first().isVisible(), 'fields are listed')
  t.ok(await page.locator('main p code').count() > 0, 'inline code in the descriptions is shown as <code>')
  t.notMatch(await page.locator('main').innerText(), /`/, 'no Markdown backtick printed literally')
  t.same(errors, [], 'no script error or CSP violation')
  await page.close()
})

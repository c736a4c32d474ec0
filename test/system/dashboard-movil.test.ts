import type { Browser } from 'playwright-core'
import t from 'tap'
import { startSystem, type System } from '../../lib/launch/system.js'
import { DESKTOP, inViewport, launchChromium, PHONE, screenshot, skipWithoutChromium as skip, watchErrors } from '../helpers/browser.js'

// The dashboard on a 390 px phone, in a real headless Chromium, against the
// built services with API keys on (`npm run build` first): what is said
// after a tap must be on the screen, not 2,000 px above.
const KEY = 'clave-del-panel-0123456789'

let sys: System | undefined
let browser: Browser | undefined
t.teardown(async () => {
  await browser?.close()
  await sys?.stop()
})

t.test('dashboard on a phone: "Elegir" shows the forms, a refused payment\'s error is on screen, focused and announced', { skip }, async (t) => {
  sys = await startSystem('dashboard-movil', { GATEWAY_API_KEYS: KEY })
  browser = await launchChromium()
  const phone = await browser.newPage(PHONE)
  const errors = watchErrors(phone)
  phone.setDefaultTimeout(20_000)
  await phone.goto(`${sys.gateway.url}/`)
  await phone.getByLabel('Clave', { exact: true }).fill(KEY)
  await phone.getByRole('button', { name: 'Guardar clave' }).click()
  await phone.locator('#tabla-usuarios tbody tr', { hasText: 'Willis' }).waitFor()

  // Willis has 500,00: a payment of 20 to fill the table, from the list.
  await phone.getByRole('button', { name: 'Elegir a Willis' }).click()
  await phone.waitForFunction(() => {
    const form = document.getElementById('form-pagar')!.getBoundingClientRect()
    const title = document.getElementById('t-cuenta')!.getBoundingClientRect()
    return title.top >= 0 && form.top < window.innerHeight && document.getElementById('cuenta-detalle')!.hidden === false
  })
  t.ok(await inViewport(phone, '#recargar-monto'), '"Elegir" brings the account and its forms into view')
  t.equal(await phone.evaluate('document.activeElement.id'), 't-cuenta', 'and the keyboard there')

  await phone.getByLabel('Importe a pagar').fill('20')
  await phone.getByLabel('Concepto').fill('Café con un concepto bastante largo')
  await phone.getByRole('button', { name: 'Pagar', exact: true }).click()
  await phone.locator('#tabla-pagos tbody tr', { hasText: 'Café' }).locator('.estado', { hasText: 'completado' }).waitFor()
  await phone.locator('#cuenta-saldo', { hasText: '480,00' }).waitFor()

  // More than the balance: the error right there, focused, announced; no old notice beside it.
  t.match(await phone.locator('#aviso').textContent(), /./, 'a notice from the last payment')
  await phone.getByLabel('Importe a pagar').fill('1.000')
  await phone.getByRole('button', { name: 'Pagar', exact: true }).click()
  await phone.locator('#error-pagar', { hasText: 'Saldo insuficiente' }).waitFor()
  await phone.waitForFunction(() => {
    const r = document.getElementById('error-pagar')!.getBoundingClientRect()
    return r.top >= 0 && r.bottom <= window.innerHeight
  })
  t.ok(await inViewport(phone, '#error-pagar'), 'the error is inside the viewport after the tap')
  t.equal(await phone.evaluate('document.activeElement.id'), 'error-pagar', 'it has the focus')
  t.equal(await phone.getAttribute('#error-pagar', 'role'), 'alert', 'it is announced (role=alert)')
  t.match(await phone.locator('#error-pagar').textContent(), /el saldo es 480,00 y el importe pedido 1\.000,00/)
  t.equal(await phone.locator('#aviso').textContent(), '', 'the old success notice is gone')
  await screenshot(t, phone, sys.dir, 'dashboard-movil-error.png', { fullPage: false })

  // A refund from the phone: the form opens on screen, the cursor in its amount.
  await phone.locator('#tabla-pagos tbody tr', { hasText: 'Café' }).getByRole('button', { name: /Reembolsar/ }).click()
  await phone.waitForFunction(() => document.activeElement?.id === 'reembolsar-monto')
  t.ok(await inViewport(phone, '#reembolsar-monto'), 'the refund form is on screen')
  await phone.getByRole('button', { name: 'Solicitar reembolso' }).click()
  await phone.locator('#tabla-reembolsos tbody tr', { hasText: 'Café' }).locator('.estado', { hasText: 'completado' }).waitFor()
  await phone.locator('#cuenta-saldo', { hasText: '500,00' }).waitFor()
  t.pass('an empty amount refunds the whole payment; the balance is back to 500,00')
  t.ok(await phone.locator('#tabla-pagos tbody tr', { hasText: 'Café' }).getByRole('button', { name: /Reembolsar/ }).isHidden(), 'nothing left to refund: no button')

  // The payments table scrolls sideways on a phone, and says so.
  t.ok(await phone.locator('#pagos-desliza').isVisible(), 'a hint that the table scrolls')
  t.match(await phone.locator('#pagos-desliza').textContent(), /Hora y Motivo/)
  await phone.locator('#pagos-desliza').scrollIntoViewIfNeeded()
  await screenshot(t, phone, sys.dir, 'dashboard-movil-tabla.png', { fullPage: false })
  t.ok(await phone.$eval('#pagos-tabla', (e) => e.scrollWidth > e.clientWidth), 'the table is wider than the phone')
  t.ok(await phone.evaluate('document.documentElement.scrollWidth <= window.innerWidth'), 'the page itself never scrolls sideways')
  await screenshot(t, phone, sys.dir, 'dashboard-movil-cuenta.png')

  // A desktop fits the table and needs no hint... only if it fits: the hint follows the table, not the device.
  const desktop = await browser.newPage(DESKTOP)
  await desktop.goto(`${sys.gateway.url}/`)
  await desktop.getByLabel('Clave', { exact: true }).fill(KEY)
  await desktop.getByRole('button', { name: 'Guardar clave' }).click()
  await desktop.getByRole('button', { name: 'Elegir a Willis' }).click()
  await desktop.locator('#tabla-pagos tbody tr', { hasText: 'Café' }).waitFor()
  const fits = await desktop.$eval('#pagos-tabla', (e) => e.scrollWidth <= e.clientWidth + 1)
  t.equal(await desktop.locator('#pagos-desliza').isVisible(), !fits, 'the hint shows only when the table does not fit')

  t.same(errors.filter((e) => !/40[19]/.test(e)), [], 'no script error or CSP violation on the phone')
})

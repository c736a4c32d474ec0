import { copyFileSync, existsSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import type { Test } from './apps.js'

/*
 * The dashboard tests' browser: Debian's headless Chromium through
 * playwright-core (which never downloads one), the console watched for
 * script errors and CSP violations, screenshots kept in test/artifacts/.
 */

export const CHROMIUM = '/usr/bin/chromium'
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
const ARTIFACTS = resolve(import.meta.dirname, '..', 'artifacts')

/** The tap `skip` option: false, or why there is no browser. */
export const skipWithoutChromium = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM} (apt-get install chromium; .ci/run installs it)`

export async function launchChromium (): Promise<Browser> {
  return await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true })
}

/** A desktop and a 390 px phone, both in Spanish. */
export const DESKTOP = { viewport: { width: 1280, height: 900 }, locale: 'es-ES' }
export const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: 'es-ES' }

/** Every console error and uncaught page error (a CSP violation shows up here too). */
export function watchErrors (page: Page): string[] {
  const errors: string[] = []
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()) })
  page.on('pageerror', (err) => errors.push(err.message))
  return errors
}

/** A screenshot (the whole page, or with `fullPage: false` what the screen shows) in `dir` and test/artifacts/. */
export async function screenshot (t: Test, page: Page, dir: string, name: string, { fullPage = true } = {}): Promise<void> {
  const file = join(dir, name)
  await page.screenshot({ path: file, fullPage })
  mkdirSync(ARTIFACTS, { recursive: true })
  copyFileSync(file, join(ARTIFACTS, name))
  t.comment(`screenshot: ${file} (copied to test/artifacts/${name})`)
}

/** Whether the element is entirely inside the viewport (what the user sees without scrolling). */
export async function inViewport (page: Page, selector: string): Promise<boolean> {
  return await page.$eval(selector, (e) => {
    const r = e.getBoundingClientRect()
    return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight && r.left >= 0 && r.right <= window.innerWidth
  })
}

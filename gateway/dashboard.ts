import { existsSync } from 'node:fs'
import { basename, resolve } from 'node:path'
import fastifyStatic from '@fastify/static'
import fp from 'fastify-plugin'
import { staticFileError } from './static-files.js'

/*
 * The dashboard: plain HTML, CSS and JS from gateway/public, served as static
 * files (no build step, no server-side rendering). `npm run build` copies the
 * folder to dist/gateway/public, which is what an installed copy (deploy/
 * install.sh copies dist/ only) serves; in a source checkout the gateway
 * prefers gateway/public itself, so an edited page shows without a rebuild.
 */

/** The folder to serve: the source one when it is there, else the copy next to the compiled module. */
export function publicDir (here = import.meta.dirname): string {
  const compiled = basename(resolve(here, '..')) === 'dist'
  const candidates = compiled ? [resolve(here, '..', '..', 'gateway', 'public'), resolve(here, 'public')] : [resolve(here, 'public')]
  const found = candidates.find((dir) => existsSync(resolve(dir, 'index.html')))
  if (found === undefined) throw new Error(`dashboard files not found (looked in ${candidates.join(', ')}): run npm run build`)
  return found
}

/** Scripts and styles come from the gateway only; the page talks to the gateway only. */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

/**
 * Serves the dashboard's files at `/` (index.html) and `/<file>`, with the CSP
 * above; `root` overrides the folder (tests). Encapsulated, for its error
 * handler: a file's errors are the catalogue's JSON (gateway/static-files.ts).
 */
export const dashboard = fp<{ root?: string }>(async (app, opts) => {
  await app.register(async (scope) => {
    scope.setErrorHandler(staticFileError)
    await scope.register(fastifyStatic, {
      root: opts.root ?? publicDir(),
      prefix: '/',
      // One route per file found at start (and `/` for index.html): any other
      // path still gets the JSON 404 of the rest of the API.
      wildcard: false,
      index: 'index.html',
      decorateReply: false,
      // A Range header is ignored: the whole file, 200 (gateway/static-files.ts).
      acceptRanges: false,
      setHeaders: (res) => {
        res.setHeader('content-security-policy', CSP)
        res.setHeader('x-content-type-options', 'nosniff')
        res.setHeader('referrer-policy', 'no-referrer')
      }
    })
  })
}, { name: 'gateway-dashboard', fastify: '5.x' })

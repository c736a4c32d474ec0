import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { buildGatewayApp } from '../../gateway/app.js'
import { loadGatewayConfig } from '../../gateway/config.js'
import { createLogger } from '../../lib/process/logger.js'
import type { Test } from './apps.js'
import { waitFor } from './poll.js'

export interface Hit {
  method: string
  url: string
  headers: Record<string, string | string[] | undefined>
  /** The header lines as they arrived (name, value, name, value…): a repeated header is on several. */
  rawHeaders: string[]
}

/** A stand-in for usuarios or pagos that answers 200 with what reached it. */
export async function echoUpstream (t: Test, servicio: string): Promise<{ url: string, hits: Hit[] }> {
  const app: FastifyInstance = Fastify()
  const hits: Hit[] = []
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body))
  app.get('/health/ready', async () => ({ status: 'ok', servicio }))
  app.all('/*', async (req) => {
    const hit = { method: req.method, url: req.url, headers: req.headers, rawHeaders: req.raw.rawHeaders }
    hits.push(hit)
    return { servicio, ...hit }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  return { url: `http://127.0.0.1:${portOf(app)}`, hits }
}

/** A URL where nothing listens: a server that took a port and let it go. */
export async function deadUrl (): Promise<string> {
  const app = Fastify()
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = portOf(app)
  await app.close()
  return `http://127.0.0.1:${port}`
}

export interface TestGateway {
  url: string
  /** The gateway's log file as written so far (lines still buffered are not there yet: poll). */
  readLog: () => string
  /** Client connections the gateway holds open now. */
  openConnections: () => Promise<number>
  /**
   * Closes the gateway, flushes its log file and returns its text once
   * `until` holds for it (polled, 5 s bound): a request's line is written by
   * its onResponse hook, which can run after the client already has the answer.
   */
  closeAndReadLog: (until?: (log: string) => boolean) => Promise<string>
}

/** The gateway built from env (as server.ts would), on a free port, logging to a file of the test. */
export async function startGateway (t: Test, env: Record<string, string>): Promise<TestGateway> {
  const logDir = t.testdir()
  const config = loadGatewayConfig({ LOG_DIR: logDir, LOG_STDOUT: 'off', ...env })
  const { logger, flush } = createLogger({ service: 'gateway', ...config })
  const app = buildGatewayApp(config, logger)
  await app.listen({ port: 0, host: '127.0.0.1' })
  let closed = false
  const close = async () => {
    if (closed) return
    closed = true
    await app.close()
    flush()
  }
  t.teardown(close)
  return {
    url: `http://127.0.0.1:${portOf(app)}`,
    readLog: () => { try { return readFileSync(join(logDir, 'gateway.log'), 'utf8') } catch { return '' } },
    openConnections: async () => await new Promise<number>((resolve, reject) => app.server.getConnections((err, n) => err === null || err === undefined ? resolve(n) : reject(err))),
    async closeAndReadLog (until = () => true) {
      await close()
      return await waitFor('the expected lines in gateway.log', () => {
        flush()
        const log = readFileSync(join(logDir, 'gateway.log'), 'utf8')
        return until(log) ? log : undefined
      }, { timeoutMs: 5_000 })
    }
  }
}

function portOf (app: FastifyInstance): number {
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

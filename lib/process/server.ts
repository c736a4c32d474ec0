import closeWithGrace from 'close-with-grace'
import type { Logger } from 'pino'
import type { App } from '../http/http-app.js'
import type { ProcessEnvConfig } from './env-schema.js'
import { createLogger } from './logger.js'

export interface StartOptions {
  app: App
  port: number
  host: string
  shutdownTimeoutMs: number
  /** Runs after the HTTP server and every onClose hook are done. */
  flush: () => void
}

/**
 * Owns the process: listen, then on SIGTERM/SIGINT (or a crash) close the app
 * — which stops accepting, finishes in-flight requests and runs each plugin's
 * onClose — within the timeout. A second signal exits at once.
 */
export async function startService (opts: StartOptions): Promise<void> {
  const { app } = opts
  closeWithGrace({ delay: opts.shutdownTimeoutMs }, async ({ signal, err }) => {
    if (err !== undefined) app.log.error({ err }, 'fatal error, shutting down')
    else app.log.info({ signal }, 'shutting down')
    await app.close()
    app.log.info('stopped')
    opts.flush()
  })
  await app.listen({ port: opts.port, host: opts.host })
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : opts.port
  // Tests and scripts read this line to learn the port (PORT=0 picks a free one).
  app.log.info({ port, host: opts.host }, 'ready')
}

export interface ServiceDefinition<C extends ProcessEnvConfig> {
  name: string
  loadConfig: () => C
  build: (config: C, logger: Logger) => Promise<App>
  listenOn: (config: C) => { port: number, host: string }
}

/** The whole of a service's server.ts: config (or exit naming the bad variable), logger, app, listen. */
export async function runService<C extends ProcessEnvConfig> (def: ServiceDefinition<C>): Promise<void> {
  let config: C
  try {
    config = def.loadConfig()
  } catch (err) {
    console.error(`${def.name}: ${(err as Error).message}`)
    process.exit(1)
  }
  const { logger, flush } = createLogger({ service: def.name, ...config })
  try {
    const app = await def.build(config, logger)
    await startService({ app, ...def.listenOn(config), shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS, flush })
  } catch (err) {
    logger.fatal({ err }, 'could not start')
    flush()
    console.error(`${def.name}: could not start: ${(err as Error).message}`)
    process.exit(1)
  }
}

import { join } from 'node:path'
import { createRequire } from 'node:module'
import pino, { type Logger, type StreamEntry } from 'pino'
import type { ProcessEnvConfig } from './env-schema.js'

export interface LoggerOptions extends Pick<ProcessEnvConfig, 'LOG_DIR' | 'LOG_LEVEL' | 'LOG_STDOUT'> {
  /** Names the log file, `<LOG_DIR>/<service>.log`. */
  service: string
}

export interface ServiceLogger {
  logger: Logger
  /** Writes buffered lines to the file and stdout; call before exit. */
  flush: () => void
}

/** JSON lines to `<LOG_DIR>/<service>.log`, plus a readable copy on a terminal. */
export function createLogger (opts: LoggerOptions): ServiceLogger {
  const file = pino.destination({ dest: join(opts.LOG_DIR, `${opts.service}.log`), mkdir: true, sync: false })
  const streams: StreamEntry[] = [{ level: 'trace', stream: file }]
  let json: ReturnType<typeof pino.destination> | undefined
  const stdout = opts.LOG_STDOUT === 'auto' ? (process.stdout.isTTY ? 'pretty' : 'off') : opts.LOG_STDOUT
  if (stdout === 'pretty') {
    // Loaded only for a terminal: about 10 MB of resident code a service under systemd never uses.
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty')
    streams.push({ level: 'trace', stream: pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }) })
  } else if (stdout === 'json') {
    // Not process.stdout: on a pipe (the journal, a supervisor) Node writes
    // it synchronously, line by line, on the event loop. An async
    // destination on fd 1 writes what accumulated while the last write was
    // in flight, like the file.
    json = pino.destination({ dest: 1, sync: false })
    streams.push({ level: 'trace', stream: json })
  }
  const logger = pino({
    level: opts.LOG_LEVEL,
    base: { service: opts.service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['req.headers.authorization', 'headers.authorization'], censor: '[redacted]' }
  }, pino.multistream(streams))
  return {
    logger,
    flush: () => {
      for (const dest of [file, json]) {
        try { dest?.flushSync() } catch { /* not ready yet: nothing buffered */ }
      }
    }
  }
}

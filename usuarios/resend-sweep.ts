import type { Logger } from 'pino'
import type { ResendStore } from './store/resend-store.js'

/** Payments re-sent per sweep at most; the rest go in the next sweep. */
export const RESEND_BATCH = 500

/** How often the sweep runs for a bound of `boundMs`: half of it, between 0.5 s and 60 s (ms). */
export function resendIntervalMs (boundMs: number): number {
  return Math.min(60_000, Math.max(500, Math.floor(boundMs / 2)))
}

export interface ResendSweepOptions {
  store: ResendStore
  /** A payment pendiente this long (ms) is asked again (PAGO_REENVIO_SEGUNDOS × 1000). */
  boundMs: number
  /** false while the broker is away: the copies would only pile up in the outbox. */
  brokerConnected: () => boolean
  logger: Logger
}

/**
 * The periodic sweep that keeps any payment from staying `pendiente` forever.
 * Returns `stop`, which waits for a sweep under way.
 */
export function startResendSweep (opts: ResendSweepOptions): { stop: () => Promise<void> } {
  const log = opts.logger.child({ component: 'reenvio' })
  let running: Promise<void> | undefined
  const sweep = async (): Promise<void> => {
    if (!opts.brokerConnected()) return
    try {
      const n = await opts.store.resendOverdue(opts.boundMs, RESEND_BATCH)
      if (n > 0) log.warn({ reenviados: n, limiteSegundos: opts.boundMs / 1000 }, 'pago.solicitado / reembolso.solicitado reenviado para pagos o reembolsos pendientes pasado el límite')
    } catch (err) {
      log.warn({ err }, 'payment re-send sweep failed; next sweep retries')
    }
  }
  const timer = setInterval(() => { running ??= sweep().finally(() => { running = undefined }) }, resendIntervalMs(opts.boundMs)).unref()
  return {
    async stop () {
      clearInterval(timer)
      await running
    }
  }
}

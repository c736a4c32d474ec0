import { Counter, Gauge, type Registry } from 'prom-client'
import type { CuentaPagosStore } from './store/cuenta-pagos-store.js'
import type { ReembolsosStore } from './store/reembolsos-store.js'

/**
 * The payment lifecycle as usuarios sees it, counted where it happens (the
 * store's transactions): accepted, then completed, or failed and refunded.
 * A replayed Idempotency-Key or a duplicated message counts nothing.
 */
export function countPagos (store: CuentaPagosStore, registry: Registry): CuentaPagosStore {
  const registers = [registry]
  const requested = new Counter({ name: 'payments_requested_total', help: 'Payments accepted (202): balance debited, pago.solicitado in the outbox', registers })
  const completed = new Counter({ name: 'payments_completed_total', help: 'Payments that ended completado', registers })
  const failed = new Counter({ name: 'payments_failed_total', help: 'Payments that ended fallido', registers })
  const refunded = new Counter({ name: 'payments_refunded_total', help: 'Failed payments whose amount went back to the balance', registers })
  const refundedCents = new Counter({ name: 'payments_refunded_cents_total', help: 'Amount refunded, in cents', registers })
  return {
    ...store,
    async pagar (s: Parameters<CuentaPagosStore['pagar']>[0]) {
      const result = await store.pagar(s)
      if (result.kind === 'accepted') requested.inc()
      return result
    },
    async applyPagoProcesado (m: Parameters<CuentaPagosStore['applyPagoProcesado']>[0]) {
      const result = await store.applyPagoProcesado(m)
      if (result.kind === 'applied') {
        if (m.estado === 'completado') {
          completed.inc()
        } else {
          // usuarios refunds a failed payment in the same transaction that marks it fallido.
          failed.inc()
          refunded.inc()
          refundedCents.inc(m.montoCentimos)
        }
      }
      return result
    }
  }
}

/** A gauge read at scrape time: payments still pendiente past the re-send bound. */
export function watchOverdue (registry: Registry, count: () => Promise<number>): void {
  let last = 0
  new Gauge({
    name: 'payments_pending_overdue',
    help: 'Payments still pendiente longer than PAGO_REENVIO_SEGUNDOS after they were accepted (each is re-sent to pagos)',
    registers: [registry],
    async collect () {
      // The database is away: keep the last figure; readiness reports it.
      last = await count().catch(() => last)
      this.set(last)
    }
  })
}

/** Refunds as usuarios sees them: accepted (202), then completed (credited) or failed. Replays and duplicates count nothing. */
export function countReembolsos (store: ReembolsosStore, registry: Registry): ReembolsosStore {
  const registers = [registry]
  const requested = new Counter({ name: 'refunds_requested_total', help: 'Refunds accepted (202): recorded pendiente, reembolso.solicitado in the outbox', registers })
  const processed = new Counter({ name: 'refunds_processed_total', help: 'Refunds that left pendiente, by estado (completado: amount credited)', labelNames: ['estado'], registers })
  const credited = new Counter({ name: 'refunds_credited_cents_total', help: 'Amount of completed refunds credited to balances, in cents', registers })
  for (const estado of ['completado', 'fallido']) processed.inc({ estado }, 0)
  return {
    ...store,
    async reembolsar (s: Parameters<ReembolsosStore['reembolsar']>[0]) {
      const result = await store.reembolsar(s)
      if (result.kind === 'accepted') requested.inc()
      return result
    },
    async applyReembolsoProcesado (m: Parameters<ReembolsosStore['applyReembolsoProcesado']>[0]) {
      const result = await store.applyReembolsoProcesado(m)
      if (result.kind === 'applied') {
        processed.inc({ estado: m.estado })
        if (m.estado === 'completado') credited.inc(m.montoCentimos)
      }
      return result
    }
  }
}

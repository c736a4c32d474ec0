import { Counter, type Registry } from 'prom-client'
import type { ProcesadosStore } from './store/procesados-store.js'
import type { ReembolsosStore } from './store/reembolsos-store.js'

/** Payments pagos recorded, by outcome; a redelivered request counts nothing. */
export function countProcesados (store: ProcesadosStore, registry: Registry): ProcesadosStore {
  const processed = new Counter({ name: 'payments_processed_total', help: 'Payments processed and recorded, by estado', labelNames: ['estado'], registers: [registry] })
  const resent = new Counter({ name: 'payments_result_resent_total', help: 'Repeated pago.solicitado answered with the recorded result (a new pago.procesado, no provider call)', registers: [registry] })
  for (const estado of ['completado', 'fallido']) processed.inc({ estado }, 0)
  return {
    ...store,
    async record (...args: Parameters<ProcesadosStore['record']>) {
      const isNew = await store.record(...args)
      if (isNew) processed.inc({ estado: args[1].estado })
      return isNew
    },
    async republish (...args: Parameters<ProcesadosStore['republish']>) {
      const found = await store.republish(...args)
      if (found) resent.inc()
      return found
    }
  }
}

/** Refunds pagos recorded, by outcome; a redelivered request counts nothing. */
export function countReembolsos (store: ReembolsosStore, registry: Registry): ReembolsosStore {
  const processed = new Counter({ name: 'refunds_processed_total', help: 'Refunds the provider answered, recorded, by estado', labelNames: ['estado'], registers: [registry] })
  const resent = new Counter({ name: 'refunds_result_resent_total', help: 'Repeated reembolso.solicitado answered with the recorded result (no provider call)', registers: [registry] })
  for (const estado of ['completado', 'fallido']) processed.inc({ estado }, 0)
  return {
    ...store,
    async record (...args: Parameters<ReembolsosStore['record']>) {
      const isNew = await store.record(...args)
      if (isNew) processed.inc({ estado: args[1].estado })
      return isNew
    },
    async republish (...args: Parameters<ReembolsosStore['republish']>) {
      const found = await store.republish(...args)
      if (found) resent.inc()
      return found
    }
  }
}

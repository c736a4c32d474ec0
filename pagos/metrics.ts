import { Counter, type Registry } from 'prom-client'
import type { PagosStore } from './store/pagos-store.js'

/** Payments pagos recorded, by outcome; a redelivered request counts nothing. */
export function countProcesados (store: PagosStore, registry: Registry): PagosStore {
  const processed = new Counter({ name: 'payments_processed_total', help: 'Payments processed and recorded, by estado', labelNames: ['estado'], registers: [registry] })
  const resent = new Counter({ name: 'payments_result_resent_total', help: 'Repeated pago.solicitado answered with the recorded result (a new pago.procesado, no provider call)', registers: [registry] })
  for (const estado of ['completado', 'fallido']) processed.inc({ estado }, 0)
  return {
    ...store,
    async registrar (...args: Parameters<PagosStore['registrar']>) {
      const nuevo = await store.registrar(...args)
      if (nuevo) processed.inc({ estado: args[1].estado })
      return nuevo
    },
    async republicar (...args: Parameters<PagosStore['republicar']>) {
      const found = await store.republicar(...args)
      if (found) resent.inc()
      return found
    }
  }
}

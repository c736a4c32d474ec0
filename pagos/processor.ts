import { createHash } from 'node:crypto'
import { setTimeout as delay } from 'node:timers/promises'
import type { PagoSolicitadoV1, ReembolsoSolicitadoV1 } from '../contracts/messages.js'

/** What the provider decided for one payment. */
export interface ProviderResult {
  estado: 'completado' | 'fallido'
  motivo: string
}

/** A payment provider. Must be safe to call twice for the same payment id. */
export interface Procesador {
  procesar: (solicitud: PagoSolicitadoV1) => Promise<ProviderResult>
}

/** A provider's refunds of payments it completed. Must be safe to call twice for the same refund id. */
export interface Reembolsador {
  reembolsar: (solicitud: ReembolsoSolicitadoV1) => Promise<ProviderResult>
}

export interface SimuladoOptions {
  latenciaMs: number
  tasaFallo: number
  limiteCentimos: number
  semilla?: string
}

/** A number in [0, 1) fixed by the id (a payment's, or `reembolso:` and a refund's) and the seed. */
function sorteo (id: string, semilla: string): number {
  return createHash('sha256').update(`${semilla}:${id}`).digest().readUInt32BE(0) / 2 ** 32
}

/**
 * The simulated provider: waits `latenciaMs`, refuses payments above the
 * limit and a share `tasaFallo` of the rest. With a seed, the outcome of a
 * payment is the same on every run and every redelivery. Refunds take the
 * same latency and refuse the same share (no limit: a refund is never more
 * than a payment the provider took), drawn from the refund id.
 */
export function createProcesadorSimulado (opts: SimuladoOptions): Procesador & Reembolsador {
  return {
    async reembolsar (s) {
      if (opts.latenciaMs > 0) await delay(opts.latenciaMs)
      const x = opts.semilla === undefined ? Math.random() : sorteo(`reembolso:${s.reembolsoId}`, opts.semilla)
      if (x < opts.tasaFallo) return { estado: 'fallido', motivo: 'Reembolso rechazado por el proveedor' }
      return { estado: 'completado', motivo: 'Reembolso aprobado por el proveedor' }
    },
    async procesar (s) {
      if (opts.latenciaMs > 0) await delay(opts.latenciaMs)
      if (s.montoCentimos > opts.limiteCentimos) return { estado: 'fallido', motivo: 'Monto supera el límite por pago del proveedor' }
      const x = opts.semilla === undefined ? Math.random() : sorteo(s.pagoId, opts.semilla)
      if (x < opts.tasaFallo) return { estado: 'fallido', motivo: 'Rechazado por el proveedor' }
      return { estado: 'completado', motivo: 'Aprobado por el proveedor' }
    }
  }
}

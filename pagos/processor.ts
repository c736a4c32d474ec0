import { createHash } from 'node:crypto'
import { setTimeout as delay } from 'node:timers/promises'
import type { PagoSolicitadoV1 } from '../contracts/messages.js'

/** What the provider decided for one payment. */
export interface ProviderResult {
  estado: 'completado' | 'fallido'
  motivo: string
}

/** A payment provider. Must be safe to call twice for the same payment id. */
export interface Procesador {
  procesar: (solicitud: PagoSolicitadoV1) => Promise<ProviderResult>
}

export interface SimuladoOptions {
  latenciaMs: number
  tasaFallo: number
  limiteCentimos: number
  semilla?: string
}

/** A number in [0, 1) fixed by the payment id and the seed. */
function sorteo (pagoId: string, semilla: string): number {
  return createHash('sha256').update(`${semilla}:${pagoId}`).digest().readUInt32BE(0) / 2 ** 32
}

/**
 * The simulated provider: waits `latenciaMs`, refuses payments above the
 * limit and a share `tasaFallo` of the rest. With a seed, the outcome of a
 * payment is the same on every run and every redelivery.
 */
export function createProcesadorSimulado (opts: SimuladoOptions): Procesador {
  return {
    async procesar (s) {
      if (opts.latenciaMs > 0) await delay(opts.latenciaMs)
      if (s.montoCentimos > opts.limiteCentimos) return { estado: 'fallido', motivo: 'Monto supera el límite por pago del proveedor' }
      const x = opts.semilla === undefined ? Math.random() : sorteo(s.pagoId, opts.semilla)
      if (x < opts.tasaFallo) return { estado: 'fallido', motivo: 'Rechazado por el proveedor' }
      return { estado: 'completado', motivo: 'Aprobado por el proveedor' }
    }
  }
}

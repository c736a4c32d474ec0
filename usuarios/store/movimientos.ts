import type { Transaction } from 'kysely'
import type { TipoMovimiento, UsuariosDatabase } from './schema.js'

/** A change of a saldo, as the transaction that made it knows it. */
export interface MovimientoInput {
  usuarioId: number
  tipo: TipoMovimiento
  /** Signed integer cents: negative for a pago. */
  montoCentimos: number
  /** The usuario's saldo right after the change, integer cents (from the UPDATE's RETURNING). */
  saldoCentimos: number
  /** The payment, top-up or refund id; null for `alta`. */
  referencia: string | null
  /** ISO 8601, the change's own timestamp. */
  fecha: string
}

/**
 * Appends one row to the account statement, inside the transaction that
 * changed the saldo (after its UPDATE of the usuario row, whose lock orders
 * a usuario's rows). Errors: whatever the insert raises (the transaction
 * then rolls back, saldo change included).
 */
export async function appendMovimiento (trx: Transaction<UsuariosDatabase>, m: MovimientoInput): Promise<void> {
  await trx.insertInto('movimientos').values({
    usuario_id: m.usuarioId,
    tipo: m.tipo,
    monto_centimos: m.montoCentimos,
    saldo_centimos: m.saldoCentimos,
    referencia: m.referencia,
    creado_en: m.fecha
  }).execute()
}

import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { PagoProcesadoV1 } from '../../contracts/messages.js'
import type { UsuariosDatabase } from '../../usuarios/store/schema.js'
import { checkStatement } from '../../usuarios/statement.js'

/** A usuario's statement as stored (every row, integer cents), checked against its stored saldo: the violations. */
export async function storedStatementViolations (db: Kysely<UsuariosDatabase>, usuarioId: number): Promise<string[]> {
  const rows = await db.selectFrom('movimientos').selectAll().where('usuario_id', '=', usuarioId).orderBy('id').execute()
  const { saldo_centimos: saldo } = await db.selectFrom('usuarios').select('saldo_centimos').where('id', '=', usuarioId).executeTakeFirstOrThrow()
  return checkStatement(rows.map((r) => ({ id: r.id, tipo: r.tipo, montoCentimos: r.monto_centimos, saldoCentimos: r.saldo_centimos, fecha: r.creado_en })), saldo)
}

/** The `pago.procesado` pagos would send for a payment (its recorded usuario and cents). */
export function procesado (pago: { id: string, usuarioId: number, montoCentimos: number }, estado: 'completado' | 'fallido'): PagoProcesadoV1 {
  return {
    tipo: 'pago.procesado',
    version: 1,
    pagoId: pago.id,
    usuarioId: pago.usuarioId,
    montoCentimos: pago.montoCentimos,
    estado,
    motivo: estado === 'fallido' ? 'Rechazado' : 'Aprobado',
    procesadoEn: new Date().toISOString()
  }
}

/** An Idempotency-Key nobody else uses. */
export const freshKey = (): string => `k-${randomUUID()}`

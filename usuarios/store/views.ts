import { fromCentimos } from '../../contracts/money.js'
import type { PagoUsuario, Usuario } from '../../contracts/http/usuarios.js'
import type { PagosTable, UsuariosTable } from './schema.js'
import type { Selectable } from 'kysely'

/* Rows (integer cents) to API bodies (JSON numbers). */

export function toUsuario (row: Selectable<UsuariosTable>): Usuario {
  return { id: row.id, nombre: row.nombre, saldo: fromCentimos(row.saldo_centimos), creadoEn: row.creado_en }
}

export function toPago (row: Selectable<PagosTable>): PagoUsuario {
  return {
    id: row.id,
    usuarioId: row.usuario_id,
    estado: row.estado,
    monto: fromCentimos(row.monto_centimos),
    concepto: row.concepto,
    motivo: row.motivo,
    creadoEn: row.creado_en,
    actualizadoEn: row.actualizado_en
  }
}

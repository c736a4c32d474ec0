import { Type, type Static } from 'typebox'
import { SALDO_MAXIMO } from '../money.js'

/*
 * The account statement: every movement that changed a saldo, newest first,
 * paged by an opaque cursor. Money is shown as the API shows money (JSON
 * numbers with at most 2 decimals); `monto` is signed.
 */

export const TipoMovimientoSchema = Type.Union([
  Type.Literal('alta'),
  Type.Literal('recarga'),
  Type.Literal('pago'),
  Type.Literal('devolucion'),
  Type.Literal('reembolso')
], { description: '`alta` (saldo inicial), `recarga`, `pago` (al aceptarlo, negativo), `devolucion` (un pago fallido), `reembolso`' })

export const MovimientoSchema = Type.Object({
  id: Type.Integer({ minimum: 1, description: 'Crece con cada movimiento: ordena los de un usuario' }),
  tipo: TipoMovimientoSchema,
  monto: Type.Number({ description: 'Importe con signo y como máximo 2 decimales: negativo en un pago', examples: [-25.5] }),
  saldo: Type.Number({ minimum: 0, maximum: SALDO_MAXIMO, description: 'El saldo justo después de este movimiento', examples: [474.5] }),
  fecha: Type.String({ format: 'date-time' }),
  referencia: Type.Union([Type.String(), Type.Null()], { description: 'El id del pago, de la recarga o del reembolso; null en el alta' })
})
export type Movimiento = Static<typeof MovimientoSchema>

/** Largest id a cursor may carry (PostgreSQL's bigserial fits well inside the safe integers we accept). */
const CURSOR_DIGITS = /^[1-9][0-9]{0,15}$/

/** The opaque cursor of the page after the movement `id`: base64url of its decimal id. */
export function encodeCursor (id: number): string {
  return Buffer.from(String(id), 'utf8').toString('base64url')
}

/** The id a cursor carries, or undefined when it is not one this API wrote. */
export function decodeCursor (cursor: string): number | undefined {
  const text = Buffer.from(cursor, 'base64url').toString('utf8')
  if (!CURSOR_DIGITS.test(text) || encodeCursor(Number(text)) !== cursor) return undefined
  const id = Number(text)
  return Number.isSafeInteger(id) ? id : undefined
}

export const MOVIMIENTOS_POR_DEFECTO = 50

export const MovimientosQuerySchema = Type.Object({
  limit: Type.Optional(Type.String({ pattern: '^(100|[1-9][0-9]?)$', description: `Movimientos por página, 1 a 100 (${MOVIMIENTOS_POR_DEFECTO} por defecto)` })),
  cursor: Type.Optional(Type.Refine(
    Type.String({ minLength: 1, maxLength: 32, description: 'El `siguiente` de la página anterior, tal cual (opaco)' }),
    (s) => decodeCursor(s) !== undefined,
    () => '`cursor` no es válido: usa el `siguiente` de una página anterior, tal cual'
  ))
})

export const ListaMovimientosSchema = Type.Object({
  movimientos: Type.Array(MovimientoSchema, { description: 'Los más recientes primero' }),
  siguiente: Type.Union([Type.String(), Type.Null()], { description: 'El `cursor` de la página siguiente (más antigua); null en la última' })
})
export type ListaMovimientos = Static<typeof ListaMovimientosSchema>

/** The CSV export's columns, in order (its header row). */
export const MOVIMIENTOS_CSV_COLUMNS = ['id', 'tipo', 'monto', 'saldo', 'fecha', 'referencia'] as const

import { Type, type Static } from 'typebox'
import { MontoSchema, SALDO_MAXIMO, SaldoInicialSchema, SaldoSchema } from '../money.js'
import { textoSchema } from '../text.js'
import {
  ConceptoSchema, EstadoPagoSchema, IdempotencyHeadersSchema,
  IdUsuarioParamSchema, PagoIdSchema, PaginaSchema, PaginationQuerySchema
} from './common.js'

export const UsuarioSchema = Type.Object({
  id: Type.Integer({ minimum: 1, examples: [1] }),
  nombre: Type.String({ examples: ['Willis'] }),
  saldo: SaldoSchema,
  creadoEn: Type.String({ format: 'date-time' })
})
export type Usuario = Static<typeof UsuarioSchema>

export const PagoUsuarioSchema = Type.Object({
  id: PagoIdSchema,
  usuarioId: Type.Integer({ minimum: 1 }),
  estado: EstadoPagoSchema,
  monto: MontoSchema,
  concepto: Type.Union([Type.String(), Type.Null()]),
  motivo: Type.Union([Type.String(), Type.Null()], { description: 'Razón del resultado, cuando lo hay' }),
  creadoEn: Type.String({ format: 'date-time' }),
  actualizadoEn: Type.String({ format: 'date-time' }),
  reembolsado: Type.Number({ minimum: 0, description: 'Suma de sus reembolsos completados (0 si no tiene)' })
})
export type PagoUsuario = Static<typeof PagoUsuarioSchema>

/** A payment as `pagar` answers it, just accepted: the view without `reembolsado` (the answer replays keep, unchanged). */
export const PagoAceptadoSchema = Type.Omit(PagoUsuarioSchema, ['reembolsado'])
export type PagoAceptado = Static<typeof PagoAceptadoSchema>

export const UsuarioParamsSchema = Type.Object({ usuarioId: IdUsuarioParamSchema })
export const PagoParamsSchema = Type.Object({ usuarioId: IdUsuarioParamSchema, pagoId: PagoIdSchema })

/** The name is stored trimmed; one made only of whitespace or invisible characters is refused. */
export const CrearUsuarioBodySchema = Type.Object({
  nombre: textoSchema('nombre', { maxLength: 100, description: 'Nombre del usuario (se guarda sin espacios al principio ni al final)', examples: ['Eva'] }),
  saldo: Type.Optional(SaldoInicialSchema)
}, { additionalProperties: false })
export type CrearUsuarioBody = Static<typeof CrearUsuarioBodySchema>

export const RecargarBodySchema = Type.Object({ monto: MontoSchema }, { additionalProperties: false })
export type RecargarBody = Static<typeof RecargarBodySchema>

/**
 * The body is optional: a plain `curl -X POST` pays the default amount. An
 * unknown field is refused (every body is closed): `{"montto": 5}` must be a
 * 400, never a payment of the default amount.
 */
export const PagarBodySchema = Type.Object({
  monto: Type.Optional(MontoSchema),
  concepto: Type.Optional(ConceptoSchema)
}, { additionalProperties: false })
export type PagarBody = Static<typeof PagarBodySchema>

export const PagarHeadersSchema = IdempotencyHeadersSchema

export const PagarResponseSchema = Type.Object({
  mensaje: Type.Literal('Solicitud de pago enviada'),
  usuario: UsuarioSchema,
  pago: PagoAceptadoSchema
})
export type PagarResponse = Static<typeof PagarResponseSchema>

export const SaldoInsuficienteSchema = Type.Object({
  error: Type.Literal('Saldo insuficiente'),
  code: Type.String(),
  saldo: SaldoSchema,
  monto: MontoSchema
})
export type SaldoInsuficiente = Static<typeof SaldoInsuficienteSchema>

/** A top-up that would take the balance (plus its pending payments) past SALDO_MAXIMO: nothing changes. */
export const SaldoMaximoSuperadoSchema = Type.Object({
  error: Type.Literal('El saldo superaría el máximo permitido'),
  code: Type.Literal('SALDO_MAXIMO_SUPERADO'),
  saldo: SaldoSchema,
  pendiente: Type.Number({ minimum: 0, description: 'Pagos aún pendientes (pueden volver al saldo si fallan) y reembolsos pendientes (volverán si se completan)' }),
  monto: MontoSchema,
  saldoMaximo: Type.Literal(SALDO_MAXIMO)
})
export type SaldoMaximoSuperado = Static<typeof SaldoMaximoSuperadoSchema>

export const RecargarResponseSchema = Type.Object({
  mensaje: Type.Literal('Recarga realizada'),
  usuario: UsuarioSchema,
  recarga: Type.Object({ id: Type.Integer(), monto: MontoSchema, creadoEn: Type.String({ format: 'date-time' }) })
})
export type RecargarResponse = Static<typeof RecargarResponseSchema>

export const ListaUsuariosSchema = Type.Object({ usuarios: Type.Array(UsuarioSchema), ...PaginaSchema })
export const ListaPagosUsuarioQuerySchema = Type.Object({
  ...PaginationQuerySchema.properties,
  estado: Type.Optional(EstadoPagoSchema)
})
export const ListaPagosUsuarioSchema = Type.Object({ pagos: Type.Array(PagoUsuarioSchema), ...PaginaSchema })

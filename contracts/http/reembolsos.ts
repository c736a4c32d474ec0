import { Type, type Static } from 'typebox'
import { MontoSchema } from '../money.js'
import { ReembolsoIdSchema } from '../messages.js'
import { IdempotencyHeadersSchema, IdUsuarioParamSchema, MotivoReembolsoSchema, PagoIdSchema } from './common.js'

/*
 * Refunds of a completed payment (`reembolsos`), as usuarios' API shows
 * them. Money is a JSON number (at most 2 decimals), integer cents inside.
 * `motivo` is the client's reason, as sent (or null); `motivoFallo` the
 * provider's reason when the refund ended `fallido` (null otherwise).
 */

/** Money that may be 0: what is left to refund of a payment, or refunded so far. */
const ImporteSchema = (description: string) => Type.Number({ minimum: 0, description })

export const EstadoReembolsoSchema = Type.Union([Type.Literal('pendiente'), Type.Literal('completado'), Type.Literal('fallido')])
export type EstadoReembolso = Static<typeof EstadoReembolsoSchema>

export const ReembolsoSchema = Type.Object({
  id: ReembolsoIdSchema,
  pagoId: PagoIdSchema,
  estado: EstadoReembolsoSchema,
  monto: MontoSchema,
  motivo: Type.Union([Type.String(), Type.Null()], { description: 'El motivo que dio el cliente, o null' }),
  motivoFallo: Type.Union([Type.String(), Type.Null()], { description: 'Por qué el proveedor lo rechazó, solo cuando está `fallido`' }),
  creadoEn: Type.String({ format: 'date-time' }),
  actualizadoEn: Type.String({ format: 'date-time' })
})
export type Reembolso = Static<typeof ReembolsoSchema>

export const ReembolsoParamsSchema = Type.Object({ usuarioId: IdUsuarioParamSchema, pagoId: PagoIdSchema, reembolsoId: ReembolsoIdSchema })

/** Both fields optional: no `monto` refunds what is left of the payment. Closed, like every body. */
export const ReembolsarBodySchema = Type.Object({
  monto: Type.Optional(MontoSchema),
  motivo: Type.Optional(MotivoReembolsoSchema)
}, { additionalProperties: false })
export type ReembolsarBody = Static<typeof ReembolsarBodySchema>

export const ReembolsarHeadersSchema = IdempotencyHeadersSchema

export const ReembolsarResponseSchema = Type.Object({
  mensaje: Type.Literal('Solicitud de reembolso enviada'),
  reembolso: ReembolsoSchema
})
export type ReembolsarResponse = Static<typeof ReembolsarResponseSchema>

/** 409: only a `completado` payment can be refunded; nothing changed. */
export const PagoNoReembolsableSchema = Type.Object({
  error: Type.Literal('El pago no se puede reembolsar'),
  code: Type.Literal('PAGO_NO_REEMBOLSABLE'),
  estado: Type.String({ description: 'El estado del pago' }),
  reembolsable: ImporteSchema('Lo que aún se puede reembolsar del pago (0: no está completado)')
})
export type PagoNoReembolsable = Static<typeof PagoNoReembolsableSchema>

/** 409: the amount is more than what is left to refund (pending and completed refunds count); nothing changed. */
export const ReembolsoExcedePagoSchema = Type.Object({
  error: Type.Literal('El reembolso supera lo que queda por reembolsar del pago'),
  code: Type.Literal('REEMBOLSO_EXCEDE_PAGO'),
  monto: Type.Union([MontoSchema, Type.Null()], { description: 'El importe pedido; null si no se pidió ninguno (y no queda nada)' }),
  reembolsable: ImporteSchema('Lo que aún se puede reembolsar del pago')
})
export type ReembolsoExcedePago = Static<typeof ReembolsoExcedePagoSchema>

export const ListaReembolsosSchema = Type.Object({ reembolsos: Type.Array(ReembolsoSchema) })

import { Type, type Static, type TSchema } from 'typebox'
import { Compile } from 'typebox/compile'
import { PagoIdSchema, ConceptoSchema } from './http/common.js'
import { MONTO_MAXIMO_CENTIMOS } from './money.js'

/*
 * Queue messages. The AMQP envelope (messageId = payment id, correlationId =
 * HTTP request id, type, contentType) lives in the message properties; the
 * body below is the payload, versioned by `tipo` + `version`.
 * Amounts travel as integer cents: no float ever crosses the broker.
 */

const CentimosSchema = Type.Integer({ minimum: 1, maximum: MONTO_MAXIMO_CENTIMOS, description: 'Importe en céntimos (entero: exacto), de 1 a MONTO_MAXIMO en céntimos' })

/** Event: usuarios accepted a payment and debited the balance. */
export const PagoSolicitadoV1Schema = Type.Object({
  tipo: Type.Literal('pago.solicitado'),
  version: Type.Literal(1),
  pagoId: PagoIdSchema,
  usuarioId: Type.Integer({ minimum: 1 }),
  montoCentimos: CentimosSchema,
  concepto: Type.Union([ConceptoSchema, Type.Null()]),
  solicitadoEn: Type.String({ format: 'date-time' })
}, { additionalProperties: false })
export type PagoSolicitadoV1 = Static<typeof PagoSolicitadoV1Schema>

/** Event: pagos processed a payment; `fallido` means usuarios must refund it. */
export const PagoProcesadoV1Schema = Type.Object({
  tipo: Type.Literal('pago.procesado'),
  version: Type.Literal(1),
  pagoId: PagoIdSchema,
  usuarioId: Type.Integer({ minimum: 1 }),
  montoCentimos: CentimosSchema,
  estado: Type.Union([Type.Literal('completado'), Type.Literal('fallido')]),
  motivo: Type.String({ minLength: 1, maxLength: 500 }),
  procesadoEn: Type.String({ format: 'date-time' })
}, { additionalProperties: false })
export type PagoProcesadoV1 = Static<typeof PagoProcesadoV1Schema>

/** The one map from message name to schema; topology and typed publish derive from it. */
export const Messages = {
  'pago.solicitado': PagoSolicitadoV1Schema,
  'pago.procesado': PagoProcesadoV1Schema
} as const satisfies Record<string, TSchema>

export type MessageName = keyof typeof Messages
export type MessageOf<N extends MessageName> = Static<(typeof Messages)[N]>

const checkers = {
  'pago.solicitado': Compile(PagoSolicitadoV1Schema),
  'pago.procesado': Compile(PagoProcesadoV1Schema)
}

export type Decoded<N extends MessageName> =
  | { ok: true, message: MessageOf<N> }
  | { ok: false, reason: string }

/** Parses and validates a raw body against the compiled contract of `name`. */
export function decodeMessage<N extends MessageName> (name: N, body: unknown): Decoded<N> {
  let value = body
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    try {
      value = JSON.parse(body.toString())
    } catch (err) {
      return { ok: false, reason: `invalid JSON: ${(err as Error).message}` }
    }
  }
  const checker = checkers[name]
  if (checker.Check(value)) return { ok: true, message: value as MessageOf<N> }
  const first = checker.Errors(value)[0]
  const where = first?.instancePath === '' || first === undefined ? '' : `${first.instancePath} `
  return { ok: false, reason: `contract ${name} v1: ${where}${first?.message ?? 'invalid'}` }
}

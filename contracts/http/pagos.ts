import { Type, type Static } from 'typebox'
import { MontoSchema } from '../money.js'
import { ConceptoSchema, PagoIdSchema, PaginaSchema, PaginationQuerySchema } from './common.js'

export const PagoProcesadoSchema = Type.Object({
  id: PagoIdSchema,
  usuarioId: Type.Integer({ minimum: 1 }),
  monto: MontoSchema,
  concepto: Type.Union([ConceptoSchema, Type.Null()]),
  estado: Type.Union([Type.Literal('completado'), Type.Literal('fallido')]),
  motivo: Type.String(),
  correlationId: Type.Union([Type.String(), Type.Null()]),
  recibidoEn: Type.String({ format: 'date-time' }),
  procesadoEn: Type.String({ format: 'date-time' })
})
export type PagoProcesado = Static<typeof PagoProcesadoSchema>

export const StatusSchema = Type.Object({
  mensaje: Type.Literal('Microservicio de pagos activo'),
  status: Type.Literal('running'),
  broker: Type.Object({ conectado: Type.Boolean() }),
  procesados: Type.Integer({ description: 'Pagos completados registrados' }),
  fallidos: Type.Integer({ description: 'Pagos rechazados registrados' }),
  deadLetter: Type.Integer({ description: 'Mensajes enviados a la cola de mensajes muertos desde el arranque' }),
  outboxPendientes: Type.Integer({ description: 'Resultados aún no publicados' }),
  uptimeSegundos: Type.Number()
})
export type Status = Static<typeof StatusSchema>

export const ProcesarResponseSchema = Type.Object({
  mensaje: Type.Literal('Microservicio de pagos está procesando mensajes automáticamente')
})

export const ListaPagosQuerySchema = Type.Object({
  ...PaginationQuerySchema.properties,
  usuario: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,11}$', description: 'Filtra por id de usuario' })),
  estado: Type.Optional(Type.Union([Type.Literal('completado'), Type.Literal('fallido')]))
})
export const ListaPagosSchema = Type.Object({ pagos: Type.Array(PagoProcesadoSchema), ...PaginaSchema })

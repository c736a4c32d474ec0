import { Messages, type MessageName } from './messages.js'
import { plainSchema } from './plain-schema.js'
import { Subscriptions, topology, type ConsumerName } from './topology.js'

/*
 * The queue messages as an AsyncAPI 3.0 document, derived from the same
 * TypeBox schemas both sides validate with (contracts/messages.ts) and the
 * same topology the services declare (contracts/topology.ts).
 */

interface MessageDoc {
  operationId: string
  title: string
  summary: string
  publisher: ConsumerName
  example: unknown
}

const PAGO_ID = '3f1c2a9e-8b7d-4e6f-9a1b-2c3d4e5f6a7b'
const REEMBOLSO_ID = '9b2d4c6e-1a3f-4b5d-8e7f-0a1b2c3d4e5f'

const DOCS: Record<MessageName, MessageDoc> = {
  'pago.solicitado': {
    operationId: 'PagoSolicitado',
    title: 'Pago solicitado',
    summary: 'usuarios aceptó un pago y debitó el saldo; pagos debe procesarlo. usuarios lo vuelve a publicar, idéntico ' +
      '(mismo messageId y correlationId), mientras el pago siga pendiente pasado PAGO_REENVIO_SEGUNDOS.',
    publisher: 'usuarios',
    example: { tipo: 'pago.solicitado', version: 1, pagoId: PAGO_ID, usuarioId: 1, montoCentimos: 2550, concepto: 'Libro', solicitadoEn: '2026-01-15T10:00:00.000Z' }
  },
  'pago.procesado': {
    operationId: 'PagoProcesado',
    title: 'Pago procesado',
    summary: 'pagos procesó un pago: `completado` lo cierra, `fallido` obliga a usuarios a devolver el importe. ' +
      'Un pago.solicitado repetido de un pago ya registrado se responde publicando otra vez el resultado registrado.',
    publisher: 'pagos',
    example: { tipo: 'pago.procesado', version: 1, pagoId: PAGO_ID, usuarioId: 1, montoCentimos: 2550, estado: 'completado', motivo: 'Aprobado por el proveedor', procesadoEn: '2026-01-15T10:00:00.120Z' }
  },
  'reembolso.solicitado': {
    operationId: 'ReembolsoSolicitado',
    title: 'Reembolso solicitado',
    summary: 'usuarios registró `pendiente` un reembolso de un pago `completado` (messageId = id del reembolso); pagos debe pedirlo al proveedor. ' +
      '`motivo` es el del cliente (o null). usuarios lo vuelve a publicar, idéntico, mientras siga pendiente pasado PAGO_REENVIO_SEGUNDOS. ' +
      'Un reembolso de un pago que pagos nunca procesó va a la cola de mensajes muertos con su motivo.',
    publisher: 'usuarios',
    example: { tipo: 'reembolso.solicitado', version: 1, reembolsoId: REEMBOLSO_ID, pagoId: PAGO_ID, usuarioId: 1, montoCentimos: 1000, motivo: 'Producto devuelto', solicitadoEn: '2026-01-15T11:00:00.000Z' }
  },
  'reembolso.procesado': {
    operationId: 'ReembolsoProcesado',
    title: 'Reembolso procesado',
    summary: 'pagos tiene la respuesta del proveedor para un reembolso: `completado` hace que usuarios abone el importe al saldo (una sola vez), ' +
      '`fallido` no abona nada. `motivo` es el del proveedor. Un reembolso.solicitado repetido se responde con el resultado registrado.',
    publisher: 'pagos',
    example: { tipo: 'reembolso.procesado', version: 1, reembolsoId: REEMBOLSO_ID, pagoId: PAGO_ID, usuarioId: 1, montoCentimos: 1000, estado: 'completado', motivo: 'Reembolso aprobado por el proveedor', procesadoEn: '2026-01-15T11:00:00.120Z' }
  }
}

/** Examples of every message, checked against the contracts by the tests. */
export const MessageExamples: Record<MessageName, unknown> = Object.fromEntries(
  Object.entries(DOCS).map(([name, doc]) => [name, doc.example])
) as Record<MessageName, unknown>

const PROPERTIES = 'Propiedades AMQP: `messageId` = id del pago, o del reembolso en los mensajes `reembolso.*` (la clave de idempotencia de cada consumidor), ' +
  '`correlationId` = el `x-request-id` de la petición HTTP que originó el pago o el reembolso, `type` = nombre del mensaje, ' +
  '`contentType: application/json`; persistente (`deliveryMode` 2) y `mandatory`. Los importes viajan en céntimos enteros.'

export function asyncApiDocument (prefix = 'pagos'): Record<string, unknown> {
  const t = topology(prefix)
  const names = Object.keys(Messages) as MessageName[]
  const consumerOf = (name: MessageName): ConsumerName =>
    (Object.keys(Subscriptions) as ConsumerName[]).find((c) => (Subscriptions[c] as readonly MessageName[]).includes(name))!

  const channels = Object.fromEntries(names.map((name) => [DOCS[name].operationId, {
    address: name,
    title: DOCS[name].title,
    description: `Clave de enrutado \`${name}\` en el exchange \`${t.exchange}\` (topic, durable).`,
    messages: { [DOCS[name].operationId]: { $ref: `#/components/messages/${DOCS[name].operationId}` } },
    bindings: {
      amqp: {
        is: 'routingKey',
        exchange: { name: t.exchange, type: 'topic', durable: true, autoDelete: false, vhost: '/' },
        bindingVersion: '0.3.0'
      }
    }
  }]))

  const operations = Object.fromEntries(names.flatMap((name) => {
    const doc = DOCS[name]
    const q = t.queues[consumerOf(name)]
    const channel = { $ref: `#/channels/${doc.operationId}` }
    const messages = [{ $ref: `#/channels/${doc.operationId}/messages/${doc.operationId}` }]
    return [
      [`publicar${doc.operationId}`, {
        action: 'send',
        channel,
        messages,
        summary: `${doc.publisher} lo publica desde su outbox, con confirmación del broker.`,
        bindings: { amqp: { deliveryMode: 2, mandatory: true, bindingVersion: '0.3.0' } }
      }],
      [`consumir${doc.operationId}`, {
        action: 'receive',
        channel,
        messages,
        summary: `${consumerOf(name)} lo consume de la cola \`${q.queue}\` (quorum, ack manual).`,
        description: `Un mensaje que no cumple el contrato va a \`${q.deadLetterQueue}\` con el motivo en la cabecera \`x-motivo\`; ` +
          `un fallo transitorio se reintenta a través de \`${q.retryQueue}\`. El consumidor es idempotente por \`${name.startsWith('reembolso') ? 'reembolsoId' : 'pagoId'}\`.`,
        bindings: { amqp: { ack: true, bindingVersion: '0.3.0' } }
      }]
    ]
  }))

  const messages = Object.fromEntries(names.map((name) => [DOCS[name].operationId, {
    name,
    title: DOCS[name].title,
    summary: DOCS[name].summary,
    description: PROPERTIES,
    contentType: 'application/json',
    correlationId: { description: 'El x-request-id de la petición HTTP (propiedad AMQP correlationId)', location: '$message.header#/correlationId' },
    payload: plainSchema(Messages[name]),
    examples: [{ name: 'ejemplo', payload: DOCS[name].example }],
    bindings: { amqp: { messageType: name, bindingVersion: '0.3.0' } }
  }]))

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Microservicios de pagos: mensajes',
      version: '1.0.0',
      description: 'Los mensajes que usuarios y pagos intercambian por RabbitMQ. Cada nombre de exchange y cola empieza por ' +
        `\`AMQP_PREFIX\` (aquí \`${prefix}\`).`
    },
    defaultContentType: 'application/json',
    servers: {
      rabbitmq: { host: '127.0.0.1:5672', protocol: 'amqp', protocolVersion: '0-9-1', description: 'El broker de `AMQP_URL`' }
    },
    channels,
    operations,
    components: { messages }
  }
}

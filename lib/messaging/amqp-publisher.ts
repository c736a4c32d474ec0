import type { Connection, Publisher } from 'rabbitmq-client'
import type { Logger } from 'pino'
import type { Declarations } from './amqp-topology.js'
import { UnroutableError } from './delivery.js'

/** rabbitmq-client's message properties, with the id we track returns by. */
export type OutgoingEnvelope = Exclude<Parameters<Publisher['send']>[0], string> & { messageId: string }

export interface CheckedPublisher {
  /**
   * Persistent, mandatory, confirmed publish. Rejects with UnroutableError
   * when no queue took the message, or with the client's error when the
   * broker is away or did not confirm.
   */
  send: (envelope: OutgoingEnvelope, body: Buffer) => Promise<void>
  close: () => Promise<void>
}

/**
 * The message's bytes as they were sent. rabbitmq-client parses JSON bodies;
 * a JSON body that was itself a string must not be parsed a second time.
 */
export function rawBody (msg: { body: unknown, contentType?: string }): Buffer {
  if (Buffer.isBuffer(msg.body)) return msg.body
  if (typeof msg.body === 'string' && msg.contentType !== 'application/json') return Buffer.from(msg.body)
  return Buffer.from(JSON.stringify(msg.body))
}

/** A confirming publisher that declares the topology before its first publish (and after each reconnection). */
export function createCheckedPublisher (connection: Connection, decl: Declarations, log: Logger): CheckedPublisher {
  // An unroutable `mandatory` message is returned and then confirmed: remember
  // returned ids so that the publish that sent it fails instead of succeeding.
  const returned = new Set<string>()
  const publisher: Publisher = connection.createPublisher({ confirm: true, maxAttempts: 1, ...decl })
  publisher.on('basic.return', (msg) => {
    log.error({ messageId: msg.messageId, routingKey: msg.routingKey, replyText: msg.replyText }, 'message returned as unroutable')
    if (msg.messageId !== undefined) returned.add(msg.messageId)
  })
  // RabbitMQ sends basic.return before the confirm, but rabbitmq-client
  // emits it on a setImmediate scheduled when the return arrived, while the
  // confirm resolves at once: a publish checks `returned` only from a
  // setImmediate scheduled after its confirm resolved, which runs after the
  // library's. One such wait serves every publish whose confirm resolved
  // before it was scheduled (a relay batch's confirms arrive together): the
  // wait is scheduled at the end of the tick that opened it (nextTick, after
  // that tick's promise continuations), and a publish confirmed later opens
  // the next one.
  let open: Promise<void> | undefined
  const afterReturns = async (): Promise<void> => {
    if (open === undefined) {
      open = new Promise<void>((resolve) => {
        process.nextTick(() => {
          open = undefined
          setImmediate(resolve)
        })
      })
    }
    await open
  }
  return {
    async send (envelope, body) {
      returned.delete(envelope.messageId)
      await publisher.send({ ...envelope, durable: true, mandatory: true }, body)
      await afterReturns()
      if (returned.delete(envelope.messageId)) throw new UnroutableError(`message ${envelope.messageId} was unroutable`)
    },
    close: async () => { await publisher.close() }
  }
}

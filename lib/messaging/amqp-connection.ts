import { Connection } from 'rabbitmq-client'
import type { Logger } from 'pino'
import { parseAmqpUrl } from './amqp-url.js'
import type { Declarations } from './amqp-topology.js'

export interface AmqpConnection {
  connection: Connection
  /** True while the connection is up (and not closing). */
  isConnected: () => boolean
  /** Called on every (re)connection, after the topology declaration started. */
  onConnect: (listener: () => void) => void
}

export interface AmqpConnectionOptions {
  /** AMQP_URL: one node, or a comma-separated list (amqp-url.ts). */
  url: string
  /** Shown in the RabbitMQ management UI and `rabbitmqctl list_connections`. */
  name: string
  declarations: Declarations
  /** Already a child logger of the broker. */
  log: Logger
}

/**
 * One connection that reconnects by itself (200 ms to 5 s apart) and
 * declares the whole topology each time it connects.
 */
export function openAmqpConnection (opts: AmqpConnectionOptions): AmqpConnection {
  const { log, declarations: decl } = opts
  const connection = new Connection({
    ...parseAmqpUrl(opts.url),
    connectionName: opts.name,
    noDelay: true,
    retryLow: 200,
    retryHigh: 5000,
    connectionTimeout: 5000,
    acquireTimeout: 5000
  })
  let connected = false
  const listeners: Array<() => void> = []
  // The whole topology (retry and dead-letter queues included) exists as soon
  // as a service connects, not only after its first publish.
  const declareAll = async (): Promise<void> => {
    for (const e of decl.exchanges) await connection.exchangeDeclare(e)
    for (const q of decl.queues) await connection.queueDeclare(q)
    for (const b of decl.queueBindings) await connection.queueBind(b)
  }
  connection.on('connection', () => {
    connected = true
    log.info('broker connected')
    declareAll().catch((err) => log.warn({ err }, 'topology declaration failed; the publisher declares it again before publishing'))
    for (const l of listeners) l()
  })
  connection.on('error', (err) => {
    if (connected) log.warn({ err }, 'broker connection lost')
    else log.debug({ err }, 'broker not reachable, retrying')
    connected = false
  })
  return {
    connection,
    isConnected: () => connected && connection.ready,
    onConnect: (listener) => { listeners.push(listener) }
  }
}

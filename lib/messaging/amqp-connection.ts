import { Connection } from 'rabbitmq-client'
import type { Logger } from 'pino'
import { parseAmqpUrl } from './amqp-url.js'
import type { Declarations } from './amqp-topology.js'
import { coalesceWrites } from './amqp-write-coalescing.js'

export interface AmqpConnection {
  connection: Connection
  /** True while the connection is up, not blocked by the broker, and not closing. */
  isConnected: () => boolean
  /** Called on every (re)connection, after the topology declaration started. */
  onConnect: (listener: () => void) => void
  /** Closes the connection (channels first, as rabbitmq-client does). */
  close: () => Promise<void>
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
  // Not `connection.ready`: it reads a corked socket as blocked, and
  // amqp-write-coalescing.ts corks it for the rest of every tick that writes.
  let connected = false
  let blocked = false
  let closing = false
  if (!coalesceWrites(connection)) log.warn('rabbitmq-client changed: AMQP writes are not coalesced (lib/messaging/amqp-write-coalescing.ts)')
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
    blocked = false
    log.info('broker connected')
    declareAll().catch((err) => log.warn({ err }, 'topology declaration failed; the publisher declares it again before publishing'))
    for (const l of listeners) l()
  })
  connection.on('error', (err) => {
    if (connected) log.warn({ err }, 'broker connection lost')
    else log.debug({ err }, 'broker not reachable, retrying')
    connected = false
  })
  connection.on('connection.blocked', (reason) => {
    blocked = true
    log.warn({ reason }, 'broker blocked publishing')
  })
  connection.on('connection.unblocked', () => {
    blocked = false
    log.info('broker unblocked publishing')
  })
  return {
    connection,
    isConnected: () => connected && !blocked && !closing,
    onConnect: (listener) => { listeners.push(listener) },
    async close () {
      closing = true
      await connection.close()
    }
  }
}

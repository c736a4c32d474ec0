import type { Generated, Insertable, Kysely, Selectable } from 'kysely'
import type { Logger } from 'pino'
import type { MessageName, MessageOf } from '../../contracts/messages.js'
import type { Broker } from './broker.js'
import { serialKey } from '../storage/db.js'

/** The outbox table, identical in every service's database. */
export interface OutboxTable {
  id: Generated<number>
  tipo: MessageName
  message_id: string
  correlation_id: string | null
  payload: string
  creado_en: string
}
export interface OutboxDatabase { outbox: OutboxTable }

/** Used by each service's first migration. */
export async function createOutboxTable (db: Kysely<any>): Promise<void> {
  await db.schema.createTable('outbox')
    .addColumn('id', ...serialKey(db))
    .addColumn('tipo', 'text', (c) => c.notNull())
    .addColumn('message_id', 'text', (c) => c.notNull())
    .addColumn('correlation_id', 'text')
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('creado_en', 'text', (c) => c.notNull())
    .execute()
}

/** The row to insert, in the same transaction as the change it announces. */
export function outboxRow<N extends MessageName> (tipo: N, message: MessageOf<N>, envelope: { messageId: string, correlationId: string | null }): Insertable<OutboxTable> {
  return {
    tipo,
    message_id: envelope.messageId,
    correlation_id: envelope.correlationId,
    payload: JSON.stringify(message),
    creado_en: new Date().toISOString()
  }
}

export interface OutboxRelay {
  /** Wakes the relay after a commit that wrote outbox rows. */
  notify: () => void
  start: () => void
  /** Lets the current batch finish, then stops. */
  stop: () => Promise<void>
  backlog: () => Promise<number>
}

/**
 * Takes up to `batch` rows in id order, awaits `publish(rows)` (which throws
 * if any was not confirmed) and deletes them; resolves with the row count.
 */
export type OutboxClaim = (db: Kysely<OutboxDatabase>, batch: number, publish: (rows: Array<Selectable<OutboxTable>>) => Promise<void>) => Promise<number>

export interface RelayOptions {
  db: Kysely<OutboxDatabase>
  broker: Broker
  logger: Logger
  batch: number
  pollMs: number
  /** How rows are taken and deleted for this database (lib/storage/outbox-claim.ts outboxClaim). */
  claim: OutboxClaim
  /**
   * After a claim that found some rows but not a full batch, the next claim
   * starts no sooner than this many ms after it (commits meanwhile do not
   * wake it). Under load a relay then claims at most 1000 / lingerMs times a
   * second instead of once per commit: each claim (three round trips and a
   * flush to the broker) carries more rows, and the consumers downstream
   * get them in bursts that their turn batches take together. Costs up to
   * lingerMs of end-to-end latency, none before the 202. 0: claim again as
   * soon as a commit wakes it.
   */
  lingerMs?: number
}

const BACKOFF_MAX_MS = 5000

/**
 * Publishes outbox rows in id order with publisher confirms and deletes them
 * only after the broker confirmed them. A crash between confirm and delete
 * publishes a row twice; consumers are idempotent by payment (or refund) id.
 * While the broker is away it backs off and retries; payments keep being
 * accepted into the outbox meanwhile.
 */
export function createOutboxRelay (opts: RelayOptions): OutboxRelay {
  const log = opts.logger.child({ component: 'outbox' })
  let stopped = true
  let loop: Promise<void> | undefined
  let wake: (() => void) | undefined
  let pending = false
  let interrupt: (() => void) | undefined
  /** Waits `ms`; only stop() cuts it short. */
  const linger = async (ms: number): Promise<void> => {
    if (ms <= 0 || stopped) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms)
      function done (): void { clearTimeout(timer); interrupt = undefined; resolve() }
      interrupt = done
    })
  }

  const notify = (): void => {
    pending = true
    wake?.()
  }
  const idle = async (ms: number): Promise<void> => {
    if (pending || stopped) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms)
      function done (): void { clearTimeout(timer); wake = undefined; resolve() }
      wake = done
    })
  }

  const { claim } = opts
  async function publishBatch (): Promise<number> {
    pending = false
    const published = await claim(opts.db, opts.batch, async (rows) => {
      await Promise.all(rows.map(async (row) => await opts.broker.publishRaw(row.tipo, row.payload, {
        messageId: row.message_id,
        correlationId: row.correlation_id
      })))
    })
    if (published > 0) log.debug({ published }, 'outbox batch published')
    return published
  }

  async function run (): Promise<void> {
    let backoff = 100
    while (!stopped) {
      try {
        const started = performance.now()
        const published = await publishBatch()
        backoff = 100
        if (published > 0 && published < opts.batch) await linger(started + (opts.lingerMs ?? 0) - performance.now())
        if (published < opts.batch) await idle(opts.pollMs)
      } catch (err) {
        log.warn({ err, retryInMs: backoff }, 'outbox publish failed, will retry')
        await idle(backoff)
        backoff = Math.min(backoff * 2, BACKOFF_MAX_MS)
      }
    }
  }

  opts.broker.onConnect(notify)

  return {
    notify,
    start () {
      if (!stopped) return
      stopped = false
      loop = run()
    },
    async stop () {
      stopped = true
      wake?.()
      interrupt?.()
      await loop
    },
    async backlog () {
      const row = await opts.db.selectFrom('outbox').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
      return Number(row.n)
    }
  }
}

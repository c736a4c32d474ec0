import type { Socket } from 'node:net'
import type { Connection } from 'rabbitmq-client'

/*
 * rabbitmq-client writes every publish and every ack with its own
 * `socket.write`. On a socket that is not busy, each write is a syscall of
 * its own and, with noDelay, a TCP segment of its own that RabbitMQ reads
 * and parses separately: a relay batch of 100 publishes, or the 100 acks of
 * one group commit, cost 100 writes here and 100 reads there. Corking the
 * socket at the first write of a tick and uncorking it in process.nextTick
 * sends whatever that tick (its callback and the promise continuations it
 * started) wrote in one writev, in the same order, before any I/O callback
 * runs again. Nothing waits longer than the end of the current tick.
 *
 * The library has no public hook for its socket: this reaches
 * `Connection#_socket`, a private member of rabbitmq-client 5.0.8
 * (lib/Connection.js, replaced on each reconnection, hence the 'connection'
 * listener). If a release renames it, coalescing turns itself off (nothing
 * else changes); test/integration/amqp-write-coalescing.test.ts fails then, as it
 * counts the writes that reach the socket.
 *
 * While corked, `socket.writableCorked` is non-zero, which the library's
 * `Connection#ready` reads as "blocked by the broker": amqp-connection.ts
 * therefore tracks blocked and open itself instead of reading `ready`.
 */

const patched = new WeakSet<Socket>()

function socketOf (connection: Connection): Socket | undefined {
  const socket = (connection as unknown as { _socket?: unknown })._socket
  if (socket === null || typeof socket !== 'object') return undefined
  const s = socket as Partial<Socket>
  return typeof s.write === 'function' && typeof s.cork === 'function' && typeof s.uncork === 'function' ? socket as Socket : undefined
}

/** Corks `socket` at its first write in a tick and uncorks it at the end of that tick. */
export function coalesceSocketWrites (socket: Socket): void {
  if (patched.has(socket)) return
  patched.add(socket)
  const write = socket.write
  let corked = false
  const uncork = (): void => {
    corked = false
    socket.uncork()
  }
  socket.write = function (this: Socket, ...args: Parameters<Socket['write']>): boolean {
    if (!corked && !socket.destroyed) {
      corked = true
      socket.cork()
      process.nextTick(uncork)
    }
    return (write as (...a: unknown[]) => boolean).apply(this, args)
  } as Socket['write']
}

/**
 * Coalesces the writes of `connection`'s socket from now on and after every
 * reconnection. Returns false (and does nothing) when the socket cannot be
 * reached: see the comment at the top of this file.
 */
export function coalesceWrites (connection: Connection): boolean {
  if (socketOf(connection) === undefined) return false
  const apply = (): void => {
    const socket = socketOf(connection)
    if (socket !== undefined) coalesceSocketWrites(socket)
  }
  apply()
  connection.on('connection', apply)
  return true
}

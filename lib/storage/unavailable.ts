/*
 * Whether an error means the database cannot be reached right now:
 * PostgreSQL shutting down, restarting or recovering from a crash
 * (57P01–57P03), a connection ended, refused or timed out (class 08, the
 * socket's errors, pg's own messages). A request that meets one answers 503
 * with Retry-After instead of 500: its transaction did not commit, or — the
 * connection lost after COMMIT — it did, and the same Idempotency-Key replays
 * it. Either way the client's retry with the same key is safe.
 */
const CODES = new Set(['57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'])
const MESSAGES = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error and is not queryable)/

export function isDatabaseUnavailable (err: unknown): boolean {
  let e = err
  for (let depth = 0; typeof e === 'object' && e !== null && depth < 5; depth++) {
    const { code, message, cause } = e as { code?: unknown, message?: unknown, cause?: unknown }
    if (typeof code === 'string' && CODES.has(code)) return true
    if (typeof message === 'string' && MESSAGES.test(message)) return true
    e = cause
  }
  return false
}

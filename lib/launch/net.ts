import net from 'node:net'

/*
 * Small network and polling helpers of the launchers (lib/launch), the
 * benchmarks and the tests.
 */

/** A port nobody listens on right now at `host` (the kernel's pick; a tiny race until the caller binds it). */
export async function freePort (host = '127.0.0.1'): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

/** Whether something accepts TCP connections on host:port (default 127.0.0.1). */
export async function canConnect (port: number, host = '127.0.0.1'): Promise<boolean> {
  return await new Promise((resolve) => {
    const s = net.connect(port, host)
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  })
}

/**
 * Polls `check` every intervalMs until it returns a value other than
 * undefined/false (a thrown error counts as not yet), and resolves with it;
 * rejects after timeoutMs (default 20 000 ms) naming `what` and the last error.
 */
export async function waitFor<T> (what: string, check: () => Promise<T | undefined | false> | T | undefined | false, { timeoutMs = 20_000, intervalMs = 50 } = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const value = await check()
      if (value !== undefined && value !== false) return value
    } catch (err) {
      lastError = err
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError === undefined ? '' : `: ${String(lastError)}`}`)
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}

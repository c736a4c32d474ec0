import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { canConnect, freePort } from '../lib/launch/net.js'
import { sleep } from './stats.js'

const ROOT = resolve(import.meta.dirname, '..')

export interface RunningNodeHttpProxy {
  url: string
  version: string
  /** What the bench configured, for the report. */
  settings: string
  process: ChildProcess
  stop: () => Promise<void>
}

/**
 * The bare Node reverse proxy the gateway is held to (issue 16): ten lines of
 * http-proxy with a keep-alive http.Agent (bench/node-http-proxy.cjs), in a
 * process of its own like the gateway, in front of the same upstream.
 */
export async function startNodeHttpProxy (upstreamUrl: string): Promise<RunningNodeHttpProxy> {
  const port = await freePort()
  let stderr = ''
  const child = spawn(process.execPath, [join(ROOT, 'bench', 'node-http-proxy.cjs')], {
    env: { ...process.env, TARGET: upstreamUrl, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe']
  })
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  }
  const deadline = Date.now() + 10_000
  while (!await canConnect(port)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop()
      throw new Error(`node-http-proxy did not start: ${stderr.trim()}`)
    }
    await sleep(50)
  }
  const { version } = JSON.parse(readFileSync(join(ROOT, 'node_modules', 'http-proxy', 'package.json'), 'utf8')) as { version: string }
  return {
    url: `http://127.0.0.1:${port}`,
    version: `http-proxy ${version}`,
    settings: 'one process, http.Agent keepAlive, maxSockets 128, no logging',
    process: child,
    stop
  }
}

import { spawn } from 'node:child_process'
import { connect } from 'node:net'
import { networkInterfaces } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import t from 'tap'
import { startService, stopService } from '../../lib/launch/service.js'
import { AMQP_URL, deleteTopology, uniquePrefix } from '../../lib/launch/system.js'

const ROOT = resolve(import.meta.dirname, '..', '..')

/**
 * An address of this machine that is not the loopback, or undefined. Only
 * the machine's own addresses are ever connected to: nothing leaves it.
 */
function ownNonLoopbackAddress (): string | undefined {
  const all = Object.values(networkInterfaces()).flatMap((list) => list ?? [])
  const usable = all.filter((a) => !a.internal && !(a.family === 'IPv6' && a.scopeid !== 0))
  return (usable.find((a) => a.family === 'IPv4') ?? usable[0])?.address
}

/** 'accepted' when a TCP connection is made, else the error code (ECONNREFUSED...). */
async function tryConnect (host: string, port: number): Promise<string> {
  return await new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 3_000 })
    socket.once('connect', () => { socket.destroy(); resolve('accepted') })
    socket.once('timeout', () => { socket.destroy(); resolve('ETIMEDOUT') })
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message))
  })
}

const url = (host: string, port: number) => `http://${host.includes(':') ? `[${host}]` : host}:${port}`

const address = ownNonLoopbackAddress()
t.test('with production settings only the gateway can be reached from the network', { skip: address === undefined ? 'this machine has no address other than the loopback to test from' : false }, async (t) => {
  const addr = address!
  const dir = t.testdir()
  const prefix = uniquePrefix('binding')
  // What deploy/install.sh writes for usuarios and pagos: HOST=127.0.0.1, and the default is the same.
  const env: NodeJS.ProcessEnv = { DATA_DIR: join(dir, 'data'), LOG_DIR: join(dir, 'logs'), AMQP_URL, AMQP_PREFIX: prefix, HOST: '127.0.0.1', NODE_ENV: 'production' }
  const [usuarios, pagos] = await Promise.all([startService('usuarios', { env }), startService('pagos', { env })])
  t.teardown(async () => {
    await Promise.all([stopService(usuarios), stopService(pagos)])
    await deleteTopology(prefix)
  })

  // The gateway as the unit starts it: GATEWAY_HOST=0.0.0.0 (startService pins it to 127.0.0.1).
  const gateway = spawn(process.execPath, [join(ROOT, 'dist', 'gateway', 'server.js')], {
    cwd: ROOT,
    env: { ...process.env, ...env, GATEWAY_HOST: '0.0.0.0', GATEWAY_PORT: '0', LOG_STDOUT: 'json', USUARIOS_URL: usuarios.url, PAGOS_URL: pagos.url },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const exited = new Promise((resolve) => gateway.once('exit', resolve))
  t.teardown(async () => {
    if (gateway.exitCode === null) gateway.kill('SIGTERM')
    await exited
  })
  let gatewayPort = 0
  for await (const line of createInterface({ input: gateway.stdout })) {
    const entry = JSON.parse(line)
    if (entry.msg === 'ready') { gatewayPort = entry.port; break }
  }
  gateway.stdout.resume()

  t.test('usuarios and pagos answer on 127.0.0.1', async (t) => {
    t.equal((await fetch(`${usuarios.url}/health/live`)).status, 200)
    t.equal((await fetch(`${pagos.url}/health/live`)).status, 200)
  })

  t.test(`usuarios and pagos refuse connections on ${addr}`, async (t) => {
    t.equal(await tryConnect(addr, usuarios.port), 'ECONNREFUSED', `usuarios on ${addr}:${usuarios.port}`)
    t.equal(await tryConnect(addr, pagos.port), 'ECONNREFUSED', `pagos on ${addr}:${pagos.port}`)
  })

  t.test(`the gateway, on 0.0.0.0, answers on ${addr} and reaches both services`, async (t) => {
    t.equal(await tryConnect(addr, gatewayPort), 'accepted')
    const res = await fetch(`${url(addr, gatewayPort)}/usuarios/1`)
    t.equal(res.status, 200)
    t.match(await res.json(), { id: 1, nombre: 'Willis' })
    t.equal((await fetch(`${url(addr, gatewayPort)}/pagos/status`)).status, 200)
  })
})

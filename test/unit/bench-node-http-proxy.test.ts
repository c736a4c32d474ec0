import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { startNodeHttpProxy } from '../../bench/node-http-proxy.js'
import { canConnect } from '../../lib/launch/net.js'

t.test('the bench\'s node-http-proxy row forwards a GET to its upstream over kept-alive connections, and stops', async (t) => {
  const peers = new Set<number>()
  const upstream = createServer((req, res) => {
    peers.add(req.socket.remotePort!)
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ url: req.url }))
  })
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { upstream.closeAllConnections(); upstream.close() })
  const proxy = await startNodeHttpProxy(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`)
  t.teardown(proxy.stop)
  t.match(proxy.version, /^http-proxy 1\.18\./)

  for (let i = 0; i < 5; i++) {
    const res = await fetch(`${proxy.url}/usuarios/${i}`)
    t.equal(res.status, 200)
    t.same(await res.json(), { url: `/usuarios/${i}` })
  }
  t.equal(peers.size, 1, 'one upstream connection for five requests in a row')

  await proxy.stop()
  t.notOk(await canConnect(Number(new URL(proxy.url).port)), 'nothing listens once stopped')
})

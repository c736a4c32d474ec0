'use strict'
/*
 * `node bench/link-rtt.cjs HOST PORT`: how long a round trip to another host
 * really takes while the bench runs (bench/scale.ts, hosts scenarios): a TCP
 * connect to HOST:PORT every 20 ms, timed from SYN to SYN-ACK (one round
 * trip), closed at once. A process of its own, so the load generator's busy
 * event loop does not inflate it. When stdin ends it prints one JSON line:
 * { n, p50Ms, p99Ms } (n connects; failures are not counted).
 */
const net = require('node:net')

const [host, port] = process.argv.slice(2)
const samples = []
let stopping = false

function one () {
  if (stopping) return
  const started = process.hrtime.bigint()
  const socket = net.connect(Number(port), host, () => {
    samples.push(Number(process.hrtime.bigint() - started) / 1e6)
    socket.destroy()
    setTimeout(one, 20)
  })
  socket.once('error', () => setTimeout(one, 20))
}

process.stdin.resume()
process.stdin.once('end', () => {
  stopping = true
  samples.sort((a, b) => a - b)
  const at = (p) => samples.length === 0 ? 0 : samples[Math.min(samples.length - 1, Math.floor(samples.length * p))]
  process.stdout.write(JSON.stringify({ n: samples.length, p50Ms: at(0.5), p99Ms: at(0.99) }) + '\n')
  process.exit(0)
})
one()

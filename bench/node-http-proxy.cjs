// The bench's bare node-http-proxy row: http-proxy 1.18 in front of one upstream (TARGET) with a keep-alive agent.
const http = require('node:http')
const httpProxy = require('http-proxy')

const agent = new http.Agent({ keepAlive: true, maxSockets: 128 })
const proxy = httpProxy.createProxyServer({ target: process.env.TARGET, agent })
proxy.on('error', (_err, _req, res) => { if (!res.headersSent) res.writeHead(502); res.end() })
http.createServer((req, res) => proxy.web(req, res)).listen(Number(process.env.PORT), '127.0.0.1')
process.on('SIGTERM', () => process.exit(0))

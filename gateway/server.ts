import { runService } from '../lib/process/server.js'
import { buildGatewayApp } from './app.js'
import { loadGatewayConfig } from './config.js'

await runService({
  name: 'gateway',
  loadConfig: () => loadGatewayConfig(process.env),
  build: async (config, logger) => buildGatewayApp(config, logger),
  listenOn: (config) => ({ port: config.GATEWAY_PORT, host: config.GATEWAY_HOST })
})

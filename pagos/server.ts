import { runService } from '../lib/process/server.js'
import { buildPagosApp } from './app.js'
import { loadPagosConfig } from './config.js'

await runService({
  name: 'pagos',
  loadConfig: loadPagosConfig,
  build: async (config, logger) => await buildPagosApp({ config, logger }),
  listenOn: (config) => ({ port: config.PAGOS_PORT, host: config.HOST })
})

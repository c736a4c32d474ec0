import { runService } from '../lib/process/server.js'
import { buildUsuariosApp } from './app.js'
import { loadUsuariosConfig } from './config.js'

await runService({
  name: 'usuarios',
  loadConfig: loadUsuariosConfig,
  build: async (config, logger) => await buildUsuariosApp({ config, logger }),
  listenOn: (config) => ({ port: config.USUARIOS_PORT, host: config.HOST })
})

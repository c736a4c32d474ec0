import { Type, type Static } from 'typebox'
import { loadConfig } from '../lib/config.js'
import { CommonEnv, Port } from '../lib/env-schema.js'

const { LOG_DIR, LOG_LEVEL, LOG_STDOUT, SHUTDOWN_TIMEOUT_MS } = CommonEnv
const UpstreamUrl = (url: string) => Type.String({ pattern: '^https?://[^/?#]+/?$', default: url })

/* HOST is for usuarios and pagos; the gateway is the public entry point and has its own. */
export const GatewayEnvSchema = Type.Object({
  LOG_DIR,
  LOG_LEVEL,
  LOG_STDOUT,
  SHUTDOWN_TIMEOUT_MS,
  GATEWAY_PORT: Port(5002),
  GATEWAY_HOST: Type.String({ minLength: 1, default: '0.0.0.0' }),
  USUARIOS_URL: UpstreamUrl('http://127.0.0.1:5004'),
  PAGOS_URL: UpstreamUrl('http://127.0.0.1:5001'),
  /** Longest wait for an upstream's headers, and between two chunks of its body. */
  UPSTREAM_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 10_000 }),
  /** Longest wait for each service's /health/ready answer. */
  HEALTH_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60_000, default: 2_000 })
})
export type GatewayConfig = Static<typeof GatewayEnvSchema>

export function loadGatewayConfig (env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  return loadConfig(GatewayEnvSchema, env)
}

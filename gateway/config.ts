import { Type, type Static } from 'typebox'
import { DEFAULT_PORTS } from '../contracts/system.js'
import { loadConfig } from '../lib/process/config.js'
import { CommonEnv, Port } from '../lib/process/env-schema.js'

const { LOG_DIR, LOG_LEVEL, LOG_STDOUT, SHUTDOWN_TIMEOUT_MS } = CommonEnv
/** One instance's URL, or several separated by commas (round robin). */
const ONE_URL = 'https?://[^/?#,\\s]+/?'
const UpstreamUrl = (url: string) => Type.String({ pattern: `^\\s*${ONE_URL}(\\s*,\\s*${ONE_URL})*\\s*$`, default: url })

/* HOST is for usuarios and pagos; the gateway is the public entry point and has its own. */
export const GatewayEnvSchema = Type.Object({
  LOG_DIR,
  LOG_LEVEL,
  LOG_STDOUT,
  SHUTDOWN_TIMEOUT_MS,
  GATEWAY_PORT: Port(DEFAULT_PORTS.gateway),
  GATEWAY_HOST: Type.String({ minLength: 1, default: '0.0.0.0' }),
  USUARIOS_URL: UpstreamUrl(`http://127.0.0.1:${DEFAULT_PORTS.usuarios}`),
  PAGOS_URL: UpstreamUrl(`http://127.0.0.1:${DEFAULT_PORTS.pagos}`),
  /** Longest wait for an upstream's headers, and between two chunks of its body. */
  UPSTREAM_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 10_000 }),
  /** Longest wait for each service's /health/ready answer. */
  HEALTH_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60_000, default: 2_000 }),
  /** How long an instance that refused a connection is skipped before traffic tries it again. */
  UPSTREAM_COOLDOWN_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 5_000 }),
  /** Comma-separated; when set, /usuarios and /pagos need `Authorization: Bearer <key>` (checked, never echoed, by auth.ts). */
  GATEWAY_API_KEYS: Type.Optional(Type.String()),
  /** Requests per client (its API key, or its IP without one) per window; 0 turns the limit off. */
  RATE_LIMIT_MAX: Type.Integer({ minimum: 0, maximum: 10_000_000, default: 6_000 }),
  RATE_LIMIT_WINDOW_MS: Type.Integer({ minimum: 1_000, maximum: 86_400_000, default: 60_000 }),
  /** Largest Content-Length the gateway forwards. */
  GATEWAY_BODY_LIMIT: Type.Integer({ minimum: 1_024, maximum: 100 * 1024 * 1024, default: 64 * 1024 }),
  /** Longest wait, in ms, from a request's first byte until its headers are complete (nginx's client_header_timeout): 408 JSON and close. */
  GATEWAY_HEADERS_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 60_000 }),
  /** Longest wait, in ms, between two reads of a request body (nginx's client_body_timeout): 408 JSON and close. */
  GATEWAY_BODY_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 60_000 }),
  /** An idle client keep-alive connection is closed after this many ms (nginx's keepalive_timeout). */
  GATEWAY_KEEPALIVE_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 75_000 })
})
export type GatewayConfig = Static<typeof GatewayEnvSchema>

/** The gateway's settings from the environment; a bad value throws a ConfigError naming the variable (lib/process/config.ts). */
export function loadGatewayConfig (env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  return loadConfig(GatewayEnvSchema, env)
}

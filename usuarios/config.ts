import { Type, type Static } from 'typebox'
import { loadConfig } from '../lib/process/config.js'
import { BrokerEnv, CommonEnv, DatabaseEnv, DatabaseUrl, Port, SqliteEnv } from '../lib/process/env-schema.js'
import { montoSchema } from '../contracts/money.js'
import { DEFAULT_PORTS } from '../contracts/system.js'

export const UsuariosEnvSchema = Type.Object({
  ...CommonEnv,
  ...BrokerEnv,
  ...SqliteEnv,
  ...DatabaseEnv,
  USUARIOS_PORT: Port(DEFAULT_PORTS.usuarios),
  DATA_DIR: Type.String({ minLength: 1, default: 'data' }),
  /** Overrides DATA_DIR/usuarios.sqlite. */
  USUARIOS_DB_FILE: Type.Optional(Type.String({ minLength: 1 })),
  /** postgres://user:pass@host:5432/usuarios: PostgreSQL instead of SQLite (then USUARIOS_DB_FILE is unused). */
  USUARIOS_DATABASE_URL: Type.Optional(DatabaseUrl),
  /** What `POST /usuarios/:id/pagar` with no body pays. */
  PAGO_MONTO_DEFECTO: montoSchema({ default: 100, campo: 'PAGO_MONTO_DEFECTO' }),
  IDEMPOTENCY_TTL_HOURS: Type.Integer({ minimum: 24, maximum: 24 * 365, default: 24 }),
  /**
   * Seconds a payment may stay pendiente before usuarios asks pagos again
   * (re-sends pago.solicitado; again every this many seconds while it stays
   * pendiente). Also the bound of payments_pending_overdue and of
   * /health/ready's pagosPendientesVencidos.
   */
  PAGO_REENVIO_SEGUNDOS: Type.Integer({ minimum: 1, maximum: 7 * 86_400, default: 300 })
})
export type UsuariosConfig = Static<typeof UsuariosEnvSchema>

export function loadUsuariosConfig (env: NodeJS.ProcessEnv = process.env): UsuariosConfig {
  return loadConfig(UsuariosEnvSchema, env)
}

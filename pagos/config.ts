import { Type, type Static } from 'typebox'
import { loadConfig } from '../lib/process/config.js'
import { BrokerEnv, CommonEnv, DatabaseEnv, DatabaseUrl, Port, SqliteEnv } from '../lib/process/env-schema.js'
import { montoSchema } from '../contracts/money.js'
import { DEFAULT_PORTS } from '../contracts/system.js'

export const PagosEnvSchema = Type.Object({
  ...CommonEnv,
  ...BrokerEnv,
  ...SqliteEnv,
  ...DatabaseEnv,
  PAGOS_PORT: Port(DEFAULT_PORTS.pagos),
  DATA_DIR: Type.String({ minLength: 1, default: 'data' }),
  /** Overrides DATA_DIR/pagos.sqlite. */
  PAGOS_DB_FILE: Type.Optional(Type.String({ minLength: 1 })),
  /** postgres://user:pass@host:5432/pagos: PostgreSQL instead of SQLite (then PAGOS_DB_FILE is unused). */
  PAGOS_DATABASE_URL: Type.Optional(DatabaseUrl),
  /**
   * Which processor handles payments; only the simulated provider ships, so
   * nothing reads the value. Still accepted (and checked) because README.md
   * documents it: a deployment that sets it keeps starting.
   */
  PROCESADOR: Type.Literal('simulado', { default: 'simulado' }),
  PROCESADOR_LATENCIA_MS: Type.Integer({ minimum: 0, maximum: 60_000, default: 0 }),
  /** Share of payments the provider rejects, 0 to 1. */
  PROCESADOR_TASA_FALLO: Type.Number({ minimum: 0, maximum: 1, default: 0 }),
  /** Largest single payment the provider accepts; larger ones fail. */
  PROCESADOR_LIMITE: montoSchema({ default: 1_000_000, campo: 'PROCESADOR_LIMITE' }),
  /** When set, each payment's outcome is a pure function of its id and this seed. */
  PROCESADOR_SEMILLA: Type.Optional(Type.String({ minLength: 1, maxLength: 100 }))
})
export type PagosConfig = Static<typeof PagosEnvSchema>

export function loadPagosConfig (env: NodeJS.ProcessEnv = process.env): PagosConfig {
  return loadConfig(PagosEnvSchema, env)
}

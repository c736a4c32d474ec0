/*
 * Where the parts of the system listen unless their env says otherwise
 * (USUARIOS_PORT, PAGOS_PORT, GATEWAY_PORT; the gateway's USUARIOS_URL and
 * PAGOS_URL point at these by default). Shell scripts in deploy/ keep their
 * own copies of the numbers.
 */
export const DEFAULT_PORTS = {
  gateway: 5002,
  usuarios: 5004,
  pagos: 5001
} as const

/** How each service's OpenAPI title begins. */
export const SYSTEM_NAME = 'Microservicios de pagos'

/** Ends each service's OpenAPI description: where the whole API is documented. */
export const GATEWAY_DOCS_HINT = `Por el gateway (puerto ${DEFAULT_PORTS.gateway}) el documento completo está en /openapi.json y la interfaz en /docs.`

import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import fp from 'fastify-plugin'
import { Type } from 'typebox'
import { asyncApiDocument } from '../contracts/asyncapi.js'
import type { Operation } from '../contracts/http/api.js'
import { PagosOperations } from '../contracts/http/pagos-operations.js'
import { UsuariosOperations } from '../contracts/http/usuarios-operations.js'
import { ErrorSchema } from '../contracts/http/common.js'
import { buildOpenApiDocument, registerDocumentRoute, ServiceRouteDocs, type OpenApiDocument, type StandaloneRoute } from '../lib/http/openapi.js'
import { GatewayHealthSchema } from './health.js'
import { ignoreRanges, staticFileError } from './static-files.js'

/*
 * The gateway's documents, built in-process from the contracts (they don't
 * depend on the services being up): one OpenAPI document for everything it
 * routes plus its own routes, Swagger UI at /docs, and the message contracts
 * at /asyncapi.json (shown as a page at /mensajes.html).
 */

/** Where the gateway answers is only known per request (its port comes from GATEWAY_PORT, 0 in tests): Swagger UI names the Host it was asked on. */
const DONDE = 'tal como la sirve el gateway'

const DESCRIPTION = `La API pública del sistema de pagos, ${DONDE}:
\`/usuarios…\` va al servicio usuarios y \`/pagos…\` al servicio pagos.

El dinero es un número JSON con como máximo 2 decimales (se guarda en céntimos enteros).
Cada error es un objeto JSON con \`error\` (en español) y \`code\`. Un método que una ruta no tiene
es un 405 con \`Allow\` (\`#/components/responses/MetodoNoPermitido\`). El gateway lee el cuerpo
entero antes de pasarlo al servicio: un cliente que lo envía lento recibe un 408. Cada respuesta lleva
\`x-request-id\`; envíalo tú para seguir un pago por los registros de los tres servicios.

Los mensajes que los servicios intercambian por RabbitMQ están en [/asyncapi.json](/asyncapi.json)
([vista legible](/mensajes.html)). El panel está en [/](/).`

/** What the gateway itself may answer on any proxied call. */
function gatewayResponses (apiKeys: boolean): Record<number, unknown> {
  return {
    ...(apiKeys ? { 401: ErrorSchema } : {}),
    413: ErrorSchema,
    429: ErrorSchema,
    502: ErrorSchema,
    503: ErrorSchema,
    504: ErrorSchema
  }
}

function proxied (op: Operation, apiKeys: boolean): StandaloneRoute {
  const schema = { ...op.schema, response: { ...gatewayResponses(apiKeys), ...op.schema.response } }
  return { method: op.method, url: op.url, schema, doc: { ...op, security: apiKeys ? [{ claveApi: [] }] : undefined } }
}

const own = (url: string, schema: unknown, doc = ServiceRouteDocs[`GET ${url}`]): StandaloneRoute => ({ method: 'GET', url, schema, doc: doc ?? {} })
const DocumentSchema = Type.Object({}, { additionalProperties: true })

/** The merged document; `apiKeys`: whether GATEWAY_API_KEYS is set (then /usuarios and /pagos need a Bearer key). */
export async function gatewayOpenApiDocument (apiKeys: boolean): Promise<OpenApiDocument> {
  const routes: StandaloneRoute[] = [
    ...[...UsuariosOperations, ...PagosOperations].map((op) => proxied(op, apiKeys)),
    own('/health', { response: { 200: GatewayHealthSchema, 503: GatewayHealthSchema } }, {
      operationId: 'salud',
      summary: 'Salud de cada servicio (y de cada instancia) y de su conexión con RabbitMQ; 503 si alguno no está listo',
      tag: 'operación'
    }),
    own('/health/live', { response: { 200: Type.Object({ status: Type.Literal('ok') }) } }),
    own('/metrics', { produces: ['text/plain'], response: { 200: Type.String({ description: 'Texto de exposición de Prometheus 0.0.4' }) } }),
    own('/openapi.json', { response: { 200: DocumentSchema } }),
    own('/asyncapi.json', { response: { 200: DocumentSchema } })
  ]
  const components = apiKeys
    ? { securitySchemes: { claveApi: { type: 'http', scheme: 'bearer', description: 'Una de las claves de `GATEWAY_API_KEYS`' } } }
    : {}
  return await buildOpenApiDocument({ title: 'Microservicios de pagos (gateway)', description: DESCRIPTION }, routes, components)
}

/** Swagger UI's logo: a small card and coin of our own (not the stock one), linking to the dashboard. */
const LOGO = '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40" viewBox="0 0 40 40" role="img" aria-label="Panel de pagos">' +
  '<rect x="2" y="8" width="30" height="21" rx="3" fill="#0b5cad"/><rect x="2" y="13" width="30" height="4" fill="#0a3d73"/>' +
  '<circle cx="29" cy="27" r="9" fill="#f5a623" stroke="#fff" stroke-width="2"/><text x="29" y="31" font-family="sans-serif" font-size="11" font-weight="700" text-anchor="middle" fill="#1b1f24">€</text></svg>'

/** The description with the address the browser used (its Host header), e.g. "(en `localhost:5002`)". */
export function describeHost (description: string, host: string | undefined): string {
  const safe = host !== undefined && /^[\w.\-:[\]]{1,300}$/.test(host) ? host : undefined
  return safe === undefined ? description : description.replace(DONDE, `${DONDE} (en \`${safe}\`)`)
}

/** GET /openapi.json, /asyncapi.json and Swagger UI at /docs, all open without a key; `apiKeys`: whether GATEWAY_API_KEYS is set. */
export const gatewayDocs = fp<{ apiKeys: boolean }>(async (app, { apiKeys }) => {
  const document = await gatewayOpenApiDocument(apiKeys)
  registerDocumentRoute(app, '/openapi.json', () => document)
  registerDocumentRoute(app, '/asyncapi.json', () => asyncApiDocument())
  // Encapsulated: the static-mode `swagger` decorator serves this document to Swagger UI only.
  await app.register(async (scope) => {
    // Swagger UI's files answer errors as the dashboard's do, and ignore
    // Range: its static serving has no acceptRanges option (gateway/static-files.ts).
    scope.setErrorHandler(staticFileError)
    ignoreRanges(scope)
    await scope.register(swagger, { mode: 'static', specification: { document: document as any } })
    await scope.register(swaggerUi, {
      routePrefix: '/docs',
      // Swagger UI sets inline styles itself; nothing else inline, nothing from elsewhere.
      staticCSP: "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; " +
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      // validatorUrl null: no badge fetched from validator.swagger.io.
      logo: { type: 'image/svg+xml', content: LOGO, href: '/', target: '_self' },
      theme: { title: 'API del sistema de pagos' },
      transformSpecification: (spec, req) => ({ ...spec, info: { ...spec.info, description: describeHost(spec.info.description, req.headers.host) } }),
      uiConfig: { docExpansion: 'list', deepLinking: true, defaultModelsExpandDepth: 0, tryItOutEnabled: false, validatorUrl: null }
    })
  })
}, { name: 'gateway-docs', fastify: '5.x' })

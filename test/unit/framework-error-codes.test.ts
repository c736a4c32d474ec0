import t from 'tap'
import { assertJsonError, pagosApp, usuariosApp } from '../helpers/apps.js'

/*
 * Regression: Fastify's own client errors reached clients with Fastify's
 * codes (`FST_ERR_CTP_INVALID_JSON_BODY`…). They now answer with codes of
 * the catalogue (lib/http/errors.ts); status and Spanish message unchanged.
 */

t.test('what Fastify refuses on its own answers with a catalogue code, never FST_ERR_*', async (t) => {
  const { app } = await usuariosApp(t)
  const cases = [
    { what: 'a body that is not JSON', req: { method: 'POST' as const, url: '/usuarios', headers: { 'content-type': 'application/json' }, payload: '{"nombre": ' }, status: 400, code: 'JSON_INVALIDO', error: 'JSON inválido' },
    { what: 'a Content-Type that is not JSON', req: { method: 'POST' as const, url: '/usuarios/1/pagar', headers: { 'content-type': 'application/xml' }, payload: '<monto>5</monto>' }, status: 415, code: 'TIPO_CONTENIDO_NO_SOPORTADO', error: 'Tipo de contenido no soportado: use application/json' },
    { what: 'a body over 64 KiB', req: { method: 'POST' as const, url: '/usuarios', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ nombre: 'x'.repeat(70_000) }) }, status: 413, code: 'CUERPO_DEMASIADO_GRANDE', error: 'Cuerpo de la petición demasiado grande' },
    { what: 'a path that does not decode', req: { method: 'GET' as const, url: '/usuarios/%E0%A4%A' }, status: 400, code: 'URL_INVALIDA', error: 'URL inválida' }
  ]
  for (const c of cases) {
    const body = assertJsonError(t, await app.inject(c.req), c.status, c.what)
    t.same(body, { error: c.error, code: c.code }, c.what)
  }
  t.equal(Number((await app.inject('/usuarios?limit=100')).json().total), 2, 'nothing created')
})

t.test('pagos answers the same codes', async (t) => {
  const { app } = await pagosApp(t)
  const res = await app.inject({ method: 'POST', url: '/pagos/procesar', headers: { 'content-type': 'application/json' }, payload: '{' })
  t.same(assertJsonError(t, res, 400, 'pagos, a body that is not JSON'), { error: 'JSON inválido', code: 'JSON_INVALIDO' })
  t.notMatch((await app.inject({ method: 'POST', url: '/pagos/procesar', headers: { 'content-type': 'text/csv' }, payload: 'a,b' })).body, /FST_ERR/)
})

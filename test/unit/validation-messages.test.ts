import t from 'tap'
import { pagosApp, usuariosApp } from '../helpers/apps.js'

// What a client reads when a request is refused: Spanish, naming the field,
// for bodies, paths, query strings and headers alike (issue 12: the
// validator's English reached the dashboard).

t.test('every 400 of validation is Spanish and names the field', async (t) => {
  const { app } = await usuariosApp(t)
  const { app: pagos } = await pagosApp(t)
  const json = { 'content-type': 'application/json' }
  const cases: Array<[string, () => Promise<{ body: string, statusCode: number }>, string | undefined, string]> = [
    ['a path id', async () => await app.inject('/usuarios/abc'), 'usuarioId', '`usuarioId` debe ser un id numérico de usuario (1, 2, …)'],
    ['a limit', async () => await app.inject('/usuarios?limit=0'), 'limit', '`limit` debe ser un número entero de 1 a 100'],
    ['a limit twice', async () => await app.inject('/usuarios?limit=1&limit=2'), 'limit', '`limit` debe aparecer una sola vez'],
    ['an offset past its maximum', async () => await app.inject('/usuarios?offset=99999999999999999999'), 'offset', '`offset` debe ser un número entero de 0 a 999999999'],
    ['an estado', async () => await app.inject('/usuarios/1/pagos?estado=raro'), 'estado', '`estado` no es un valor permitido'],
    ['a pagoId', async () => await app.inject('/usuarios/1/pagos/no-es-uuid'), 'pagoId', '`pagoId` debe ser un UUID'],
    ['pagos\' usuario filter', async () => await pagos.inject('/pagos?usuario=abc'), 'usuario', '`usuario` debe ser un id numérico de usuario (1, 2, …)'],
    ['a body that is not an object', async () => await app.inject({ method: 'POST', url: '/usuarios/1/pagar', headers: json, payload: '[1]' }), undefined, 'el cuerpo debe ser un objeto JSON'],
    ['a concepto that is a number', async () => await app.inject({ method: 'POST', url: '/usuarios/1/pagar', headers: json, payload: '{"monto":5,"concepto":7}' }), 'concepto', '`concepto` debe ser un texto'],
    ['an empty concepto', async () => await app.inject({ method: 'POST', url: '/usuarios/1/pagar', headers: json, payload: '{"monto":5,"concepto":""}' }), 'concepto', '`concepto` no puede estar vacío'],
    ['a concepto of 201 code points', async () => await app.inject({ method: 'POST', url: '/usuarios/1/pagar', headers: json, payload: JSON.stringify({ monto: 5, concepto: 'ñ'.repeat(201) }) }), 'concepto', '`concepto` no puede tener más de 200 caracteres'],
    ['a monto as a string', async () => await app.inject({ method: 'POST', url: '/usuarios/1/pagar', headers: json, payload: '{"monto":"5"}' }), 'monto', '`monto` debe ser un número mayor que 0 con como máximo 2 decimales, hasta 1000000000 (por ejemplo 12.5)'],
    ['a misspelled field in pagar (it must not pay the default amount)', async () => await app.inject({ method: 'POST', url: '/usuarios/1/pagar', headers: json, payload: '{"montto":5}' }), 'montto', '`montto` no es un campo de esta petición'],
    ['an unknown field in recargar', async () => await app.inject({ method: 'POST', url: '/usuarios/1/recargar', headers: json, payload: '{"monto":5,"extra":1}' }), 'extra', '`extra` no es un campo de esta petición'],
    ['an unknown field in a new user', async () => await app.inject({ method: 'POST', url: '/usuarios', headers: json, payload: '{"nombre":"Eva","id":1}' }), 'id', '`id` no es un campo de esta petición'],
    ['an empty Idempotency-Key', async () => await app.inject({ method: 'POST', url: '/usuarios/1/pagar', headers: { 'idempotency-key': '' } }), 'Idempotency-Key', '`Idempotency-Key` no puede estar vacío']
  ]
  for (const [what, send, campo, detalle] of cases) {
    const res = await send()
    t.equal(res.statusCode, 400, `${what}: 400`)
    const body = JSON.parse(res.body)
    t.same(body, { error: 'Datos inválidos', code: 'VALIDACION', ...(campo === undefined ? {} : { campo }), detalle }, what)
    t.notMatch(res.body, /\bmust\b|\bshould\b/, `${what}: no English`)
  }
  t.equal((await app.inject('/usuarios/1')).json().saldo, 500, 'nothing was paid')
})

import t from 'tap'

/*
 * What the dashboard says when a call fails (gateway/public/errores.js) and
 * how its statement merges a polled first page (movimientos-panel.js): pure
 * browser modules, imported here as they are.
 */

const load = async (file: string): Promise<any> => await import(new URL(`../../gateway/public/${file}`, import.meta.url).href)
const { errorText, isAccessText } = await load('errores.js')
const { mergeFirstPage, signed } = await load('movimientos-panel.js')

t.test('a 409 names the figures the API returns with it', async (t) => {
  t.equal(errorText(409, { error: 'Saldo insuficiente', code: 'SALDO_INSUFICIENTE', saldo: 1234.5, monto: 10000 }, true),
    'Saldo insuficiente: el saldo es 1.234,50 y el importe pedido 10.000,00.')
  t.equal(errorText(409, { error: 'El reembolso supera lo que queda por reembolsar del pago', code: 'REEMBOLSO_EXCEDE_PAGO', monto: 80, reembolsable: 69.5 }, true),
    'El reembolso supera lo que queda por reembolsar del pago: pides 80,00 y queda 69,50 por reembolsar.')
  t.equal(errorText(409, { error: 'El reembolso supera lo que queda por reembolsar del pago', code: 'REEMBOLSO_EXCEDE_PAGO', monto: null, reembolsable: 0 }, true),
    'El reembolso supera lo que queda por reembolsar del pago: queda 0,00 por reembolsar.')
  t.equal(errorText(409, { error: 'El pago no se puede reembolsar', code: 'PAGO_NO_REEMBOLSABLE', estado: 'pendiente', reembolsable: 0 }, true),
    'El pago no se puede reembolsar: está pendiente; solo se reembolsa un pago completado.')
  t.equal(errorText(409, { error: 'El saldo superaría el máximo permitido', code: 'SALDO_MAXIMO_SUPERADO', saldo: 1, pendiente: 2, monto: 3, saldoMaximo: 10000000000 }, true),
    'El saldo superaría el máximo permitido: el saldo máximo es 10.000.000.000,00, contando 2,00 en pagos pendientes.')
})

t.test('a wrong key is not a missing key', async (t) => {
  const wrong = errorText(401, { error: 'No autorizado' }, true)
  const missing = errorText(401, { error: 'No autorizado' }, false)
  t.match(wrong, /no es válida/)
  t.match(missing, /pide una clave/)
  t.ok(isAccessText(wrong) && isAccessText(missing) && isAccessText(errorText(0, null, false)), 'both are cleared once calls succeed')
  t.notOk(isAccessText(errorText(404, { error: 'Usuario no encontrado' }, true)))
})

t.test('other errors: the API\'s detail with «field» instead of backticks, or the status', async (t) => {
  t.equal(errorText(400, { error: 'Datos inválidos', detalle: '`monto` debe ser mayor que 0' }, false), 'Datos inválidos: «monto» debe ser mayor que 0')
  t.equal(errorText(502, null, false), 'Error HTTP 502')
  t.equal(errorText(0, null, true), 'No hay conexión con el gateway.')
})

t.test('a statement amount has its sign', async (t) => {
  t.equal(signed(1234.56), '+1.234,56')
  t.equal(signed(-20), '−20,00')
})

t.test('a polled first page puts what is new on top of the pages shown', async (t) => {
  const m = (id: number) => ({ id })
  t.same(mergeFirstPage([], null, [m(3), m(2)], 'c2'), { movimientos: [m(3), m(2)], siguiente: 'c2' }, 'nothing shown: the page')
  t.same(mergeFirstPage([m(3), m(2), m(1)], null, [m(5), m(4), m(3)], 'c3'), { movimientos: [m(5), m(4), m(3), m(2), m(1)], siguiente: null },
    'new ones on top; the older pages already shown stay, and so does their cursor')
  t.same(mergeFirstPage([m(2), m(1)], null, [m(9), m(8)], 'c8'), { movimientos: [m(9), m(8)], siguiente: 'c8' },
    'a page that does not reach what is shown replaces it (no gap)')
  t.same(mergeFirstPage([m(2), m(1)], 'c1', [m(2), m(1)], 'c1'), { movimientos: [m(2), m(1)], siguiente: 'c1' }, 'nothing new: unchanged')
})

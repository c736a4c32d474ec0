import t from 'tap'
import { decodeAny, decodeMessage, type MessageName } from '../../contracts/messages.js'
import { topology } from '../../contracts/topology.js'

const PAGO_ID = '3f1c2a4e-8b7d-4c1e-9f00-1234567890ab'

const solicitado = {
  tipo: 'pago.solicitado',
  version: 1,
  pagoId: PAGO_ID,
  usuarioId: 1,
  montoCentimos: 10_000,
  concepto: 'café',
  solicitadoEn: '2024-05-01T10:00:00.000Z'
}

const procesado = {
  tipo: 'pago.procesado',
  version: 1,
  pagoId: PAGO_ID,
  usuarioId: 1,
  montoCentimos: 10_000,
  estado: 'completado',
  motivo: 'Aprobado por el proveedor',
  procesadoEn: '2024-05-01T10:00:01.000Z'
}

const samples: Record<MessageName, Record<string, unknown>> = {
  'pago.solicitado': solicitado,
  'pago.procesado': procesado
}

function without (o: Record<string, unknown>, key: string): Record<string, unknown> {
  const copy = { ...o }
  delete copy[key]
  return copy
}

for (const [name, sample] of Object.entries(samples) as Array<[MessageName, Record<string, unknown>]>) {
  t.test(`a valid ${name} v1 is accepted as an object, a JSON string and a Buffer`, async (t) => {
    for (const [form, body] of [['object', sample], ['string', JSON.stringify(sample)], ['Buffer', Buffer.from(JSON.stringify(sample))]] as const) {
      const decoded = decodeMessage(name, body)
      t.ok(decoded.ok, `${form} passes`)
      if (decoded.ok) t.same(decoded.message, sample, `${form} decodes to the sample`)
    }
  })

  t.test(`a malformed ${name} is refused with a reason`, async (t) => {
    const other = name === 'pago.solicitado' ? 'pago.procesado' : 'pago.solicitado'
    const bad: Array<[string, unknown]> = [
      ['malformed JSON string', '{"tipo": "pago'],
      ['malformed JSON Buffer', Buffer.from('not json')],
      ['wrong tipo', { ...sample, tipo: other }],
      ['wrong version', { ...sample, version: 2 }],
      ['version as a string', { ...sample, version: '1' }],
      ['missing pagoId', without(sample, 'pagoId')],
      ['missing montoCentimos', without(sample, 'montoCentimos')],
      ['extra field', { ...sample, extra: true }],
      ['float cents', { ...sample, montoCentimos: 100.5 }],
      ['negative cents', { ...sample, montoCentimos: -100 }],
      ['zero cents', { ...sample, montoCentimos: 0 }],
      ['cents as a string', { ...sample, montoCentimos: '100' }],
      ['bad uuid', { ...sample, pagoId: 'not-a-uuid' }],
      ['usuarioId 0', { ...sample, usuarioId: 0 }],
      ['null', null],
      ['an array', [sample]]
    ]
    if (name === 'pago.procesado') {
      bad.push(['bad estado', { ...sample, estado: 'pendiente' }])
      bad.push(['empty motivo', { ...sample, motivo: '' }])
      bad.push(['bad procesadoEn', { ...sample, procesadoEn: 'ayer' }])
    } else {
      bad.push(['empty concepto', { ...sample, concepto: '' }])
      bad.push(['bad solicitadoEn', { ...sample, solicitadoEn: 'ayer' }])
    }
    for (const [what, body] of bad) {
      const decoded = decodeMessage(name, body)
      t.notOk(decoded.ok, `${what} fails`)
      if (!decoded.ok) {
        t.type(decoded.reason, 'string', `${what} has a reason`)
        t.ok(decoded.reason.length > 0, `${what}: reason is not empty (${decoded.reason})`)
      }
    }
  })
}

t.test('the reason says what is wrong', async (t) => {
  const json = decodeMessage('pago.solicitado', '{oops')
  t.match(json, { ok: false, reason: /^invalid JSON/ })
  const field = decodeMessage('pago.procesado', { ...procesado, montoCentimos: 1.5 })
  t.match(field, { ok: false, reason: /pago\.procesado.*montoCentimos/ })
})

t.test('a concepto may be null in pago.solicitado', async (t) => {
  t.ok(decodeMessage('pago.solicitado', { ...solicitado, concepto: null }).ok)
})

t.test('broker names derive from the prefix and are all distinct', async (t) => {
  const a = topology('prueba-1')
  const names = [
    a.exchange, a.deadLetterExchange,
    a.queues.pagos.queue, a.queues.pagos.deadLetterQueue,
    a.queues.usuarios.queue, a.queues.usuarios.deadLetterQueue
  ]
  for (const n of names) t.ok(n.startsWith('prueba-1.'), `${n} starts with the prefix`)
  t.equal(new Set(names).size, names.length, 'no two names are the same')
  t.equal(a.queues.pagos.routingKey, 'pago.solicitado', 'pagos consumes requests')
  t.equal(a.queues.usuarios.routingKey, 'pago.procesado', 'usuarios consumes results')

  const b = topology('prueba-2')
  const other = [b.exchange, b.deadLetterExchange, b.queues.pagos.queue, b.queues.pagos.deadLetterQueue, b.queues.usuarios.queue, b.queues.usuarios.deadLetterQueue]
  t.notOk(other.some((n) => names.includes(n)), 'another prefix shares no name')
  t.same(topology('prueba-1'), a, 'the same prefix gives the same names')
})

t.test('refunds: each queue carries the messages of its service, named after the first; decodeAny picks the contract by tipo', async (t) => {
  const a = topology('prueba-1')
  t.same(a.queues.pagos.routingKeys, ['pago.solicitado', 'reembolso.solicitado'], 'pagos takes payment and refund requests')
  t.same(a.queues.usuarios.routingKeys, ['pago.procesado', 'reembolso.procesado'], 'usuarios takes both results')
  t.equal(a.queues.pagos.queue, 'prueba-1.pagos.pago.solicitado', 'queue names unchanged')
  const reembolso = {
    tipo: 'reembolso.solicitado',
    version: 1,
    reembolsoId: '9b2d4c6e-1a3f-4b5d-8e7f-0a1b2c3d4e5f',
    pagoId: PAGO_ID,
    usuarioId: 1,
    montoCentimos: 500,
    motivo: 'Producto devuelto',
    solicitadoEn: '2024-05-01T10:00:00.000Z'
  }
  const names = a.queues.pagos.routingKeys
  t.match(decodeAny(names, JSON.stringify(reembolso)), { ok: true, message: { tipo: 'reembolso.solicitado' } })
  t.match(decodeAny(names, JSON.stringify(solicitado)), { ok: true, message: { tipo: 'pago.solicitado' } })
  t.match(decodeAny(names, JSON.stringify({ ...reembolso, motivo: '  ' })), { ok: false, reason: /contract reembolso\.solicitado v1: \/motivo/ }, 'the client text rule holds in the message')
  t.match(decodeAny(names, JSON.stringify({ ...reembolso, tipo: 'otro' })), { ok: false, reason: /^contract pago\.solicitado v1/ }, 'an unknown tipo is checked against what the queue is named after')
  t.match(decodeAny(names, JSON.stringify(JSON.stringify(reembolso))), { ok: false, reason: /^contract pago\.solicitado v1/ }, 'a JSON string holding JSON is parsed once: no message')
  t.notOk(decodeAny(names, JSON.stringify({ ...reembolso, montoCentimos: 0 })).ok)
})

import { randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import t from 'tap'
import type { PagoSolicitadoV1 } from '../../contracts/messages.js'
import { toCentimos } from '../../contracts/money.js'
import { loadPagosConfig } from '../../pagos/config.js'
import { createProcesadorSimulado, type SimuladoOptions } from '../../pagos/processor.js'

function solicitud (montoCentimos = 10_000, pagoId = randomUUID()): PagoSolicitadoV1 {
  return { tipo: 'pago.solicitado', version: 1, pagoId, usuarioId: 1, montoCentimos, concepto: null, solicitadoEn: new Date().toISOString() }
}

const base: SimuladoOptions = { latenciaMs: 0, tasaFallo: 0, limiteCentimos: 100_000_000 }

t.test('out of the box every payment is approved promptly', async (t) => {
  const config = loadPagosConfig({})
  const procesador = createProcesadorSimulado({
    latenciaMs: config.PROCESADOR_LATENCIA_MS,
    tasaFallo: config.PROCESADOR_TASA_FALLO,
    limiteCentimos: toCentimos(config.PROCESADOR_LIMITE),
    semilla: config.PROCESADOR_SEMILLA
  })
  const started = performance.now()
  for (const monto of [1, 10_000, 70_000, 100_000_000]) {
    const r = await procesador.procesar(solicitud(monto))
    t.equal(r.estado, 'completado', `${monto} cents approved`)
    t.type(r.motivo, 'string')
    t.ok(r.motivo.length > 0, 'with a motivo')
  }
  t.equal(config.PROCESADOR_LATENCIA_MS, 0, 'no latency by default')
  // Far below the original's 2 s sleep per payment, for a busy machine.
  t.ok(performance.now() - started < 1900, 'without waiting')
})

t.test('a failure rate of 1 refuses every payment, with a motivo', async (t) => {
  const procesador = createProcesadorSimulado({ ...base, tasaFallo: 1 })
  for (let i = 0; i < 50; i++) {
    const r = await procesador.procesar(solicitud())
    t.equal(r.estado, 'fallido')
    t.equal(r.motivo, 'Rechazado por el proveedor')
  }
})

t.test('a payment above the limit fails; one at the limit passes', async (t) => {
  const procesador = createProcesadorSimulado({ ...base, limiteCentimos: 30_000 })
  t.same(await procesador.procesar(solicitud(30_001)), { estado: 'fallido', motivo: 'Monto supera el límite por pago del proveedor' })
  t.equal((await procesador.procesar(solicitud(30_000))).estado, 'completado')
  t.equal((await procesador.procesar(solicitud(1))).estado, 'completado')
})

t.test('with a seed, a payment\'s outcome depends only on its id', async (t) => {
  const opts = { ...base, tasaFallo: 0.3, semilla: 'prueba' }
  const a = createProcesadorSimulado(opts)
  const b = createProcesadorSimulado(opts)
  const ids = Array.from({ length: 2000 }, () => randomUUID())
  const outcomes: string[] = []
  let mismatches = 0
  for (const id of ids) {
    const first = await a.procesar(solicitud(10_000, id))
    const again = await a.procesar(solicitud(10_000, id))
    const elsewhere = await b.procesar(solicitud(10_000, id))
    if (first.estado !== again.estado || first.estado !== elsewhere.estado || first.motivo !== elsewhere.motivo) mismatches++
    outcomes.push(first.estado)
  }
  t.equal(mismatches, 0, 'same id, same outcome, on every call and every instance')

  const share = outcomes.filter((e) => e === 'fallido').length / outcomes.length
  t.ok(share >= 0.25 && share <= 0.35, `failure share ${share} is about 0.3`)

  const otherSeed = createProcesadorSimulado({ ...opts, semilla: 'otra' })
  let differ = 0
  for (const [i, id] of ids.entries()) {
    if ((await otherSeed.procesar(solicitud(10_000, id))).estado !== outcomes[i]) differ++
  }
  t.ok(differ > 0, 'another seed gives other outcomes')
})

t.test('latency is honoured', async (t) => {
  const procesador = createProcesadorSimulado({ ...base, latenciaMs: 80 })
  const started = performance.now()
  const r = await procesador.procesar(solicitud())
  const elapsed = performance.now() - started
  t.equal(r.estado, 'completado')
  // Timers may fire a millisecond early against performance.now().
  t.ok(elapsed >= 78, `waited ${elapsed.toFixed(1)} ms`)
})

t.test('refunds: the same latency and failure share, and with a seed an outcome fixed by the refund id', async (t) => {
  const reembolso = (reembolsoId = randomUUID(), montoCentimos = 500_000_000) => ({
    tipo: 'reembolso.solicitado' as const, version: 1 as const, reembolsoId, pagoId: randomUUID(), usuarioId: 1, montoCentimos, motivo: null, solicitadoEn: new Date().toISOString()
  })
  t.same(await createProcesadorSimulado(base).reembolsar(reembolso()), { estado: 'completado', motivo: 'Reembolso aprobado por el proveedor' }, 'no limit per refund')
  t.same(await createProcesadorSimulado({ ...base, tasaFallo: 1 }).reembolsar(reembolso()), { estado: 'fallido', motivo: 'Reembolso rechazado por el proveedor' })

  const opts = { ...base, tasaFallo: 0.5, semilla: 'prueba' }
  const [a, b] = [createProcesadorSimulado(opts), createProcesadorSimulado(opts)]
  let mismatches = 0
  let fallidos = 0
  for (let i = 0; i < 1000; i++) {
    const r = reembolso()
    const first = await a.reembolsar(r)
    if (first.estado !== (await b.reembolsar({ ...r, pagoId: randomUUID() })).estado) mismatches++
    if (first.estado === 'fallido') fallidos++
  }
  t.equal(mismatches, 0, 'same refund id, same outcome')
  t.ok(fallidos > 400 && fallidos < 600, `failure share ${fallidos / 1000} is about 0.5`)

  const slow = createProcesadorSimulado({ ...base, latenciaMs: 80 })
  const started = performance.now()
  await slow.reembolsar(reembolso())
  t.ok(performance.now() - started >= 78, 'latency is honoured')
})

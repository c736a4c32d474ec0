/* «Estado del sistema»: the gateway's /health, shown per component, refreshed every SALUD_MS while the tab is visible. */

import { peticion } from './api.js'
import { $, hora, poner } from './dom.js'
import { estado, SALUD_MS } from './state.js'

const NOMBRES = { ok: 'en marcha', caido: 'caído', conectado: 'conectado', desconectado: 'desconectado', desconocido: 'desconocido' }

function indicador (id, valor, titulo) {
  const el = $(id)
  el.dataset.estado = valor
  poner(el, NOMBRES[valor] || valor)
  if (titulo) el.title = titulo
  else el.removeAttribute('title')
}

/** Asks /health once and shows the gateway, each service (and its instances), RabbitMQ and the message counts. */
export async function refrescarSalud () {
  const r = await peticion('GET', '/health')
  $('salud-hora').textContent = hora.format(new Date())
  if (r.status === 0 || r.body === null || typeof r.body.servicios !== 'object') {
    indicador('salud-gateway', 'caido', 'El gateway no responde')
    for (const s of ['usuarios', 'pagos', 'rabbitmq']) indicador('salud-' + s, 'desconocido')
    $('salud-detalle').textContent = ''
    return
  }
  indicador('salud-gateway', 'ok')
  const servicios = r.body.servicios
  const brokers = []
  let outbox = 0
  let muertos = 0
  for (const nombre of ['usuarios', 'pagos']) {
    const s = servicios[nombre] || { status: 'caido' }
    const instancias = Array.isArray(s.instancias) ? s.instancias : []
    const listas = instancias.filter((i) => i.status === 'ok').length
    const texto = instancias.length > 1 ? listas + ' de ' + instancias.length + ' instancias listas' : s.error
    indicador('salud-' + nombre, s.status === 'ok' ? 'ok' : 'caido', texto)
    if (instancias.length > 1) poner($('salud-' + nombre), (s.status === 'ok' ? 'en marcha' : 'caído') + ' (' + listas + '/' + instancias.length + ')')
    brokers.push(typeof s.broker === 'string' ? s.broker : undefined)
    outbox += Number(s.outboxPendientes) || 0
    muertos += Number(s.deadLetter) || 0
  }
  const rabbit = brokers.every((b) => b === 'conectado') ? 'conectado' : brokers.some((b) => b === 'desconectado') ? 'desconectado' : 'desconocido'
  indicador('salud-rabbitmq', rabbit)
  poner($('salud-detalle'), 'Mensajes por publicar: ' + outbox + ' · en colas de mensajes muertos: ' + muertos)
}

/** The next health check in SALUD_MS, unless the tab is hidden. */
export function programarSalud () {
  clearTimeout(estado.saludTemporizador)
  if (document.hidden) return
  estado.saludTemporizador = setTimeout(async () => {
    await refrescarSalud().catch(() => {})
    programarSalud()
  }, SALUD_MS)
}

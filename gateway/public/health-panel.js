/* «Estado del sistema»: the gateway's /health, shown per component, refreshed every HEALTH_MS while the tab is visible. */

import { request } from './api.js'
import { $, setText, timeOfDay } from './dom.js'
import { HEALTH_MS, state } from './state.js'

const LABELS = { ok: 'en marcha', caido: 'caído', conectado: 'conectado', desconectado: 'desconectado', desconocido: 'desconocido' }

function showIndicator (id, value, tooltip) {
  const el = $(id)
  el.dataset.estado = value
  setText(el, LABELS[value] || value)
  if (tooltip) el.title = tooltip
  else el.removeAttribute('title')
}

/** Asks /health once and shows the gateway, each service (and its instances), RabbitMQ and the message counts. */
export async function refreshHealth () {
  const r = await request('GET', '/health')
  $('salud-hora').textContent = timeOfDay.format(new Date())
  if (r.status === 0 || r.body === null || typeof r.body.servicios !== 'object') {
    showIndicator('salud-gateway', 'caido', 'El gateway no responde')
    for (const s of ['usuarios', 'pagos', 'rabbitmq']) showIndicator('salud-' + s, 'desconocido')
    $('salud-detalle').textContent = ''
    return
  }
  showIndicator('salud-gateway', 'ok')
  const services = r.body.servicios
  const brokers = []
  let outbox = 0
  let deadLettered = 0
  for (const name of ['usuarios', 'pagos']) {
    const s = services[name] || { status: 'caido' }
    const instances = Array.isArray(s.instancias) ? s.instancias : []
    const ready = instances.filter((i) => i.status === 'ok').length
    const text = instances.length > 1 ? ready + ' de ' + instances.length + ' instancias listas' : s.error
    showIndicator('salud-' + name, s.status === 'ok' ? 'ok' : 'caido', text)
    if (instances.length > 1) setText($('salud-' + name), (s.status === 'ok' ? 'en marcha' : 'caído') + ' (' + ready + '/' + instances.length + ')')
    brokers.push(typeof s.broker === 'string' ? s.broker : undefined)
    outbox += Number(s.outboxPendientes) || 0
    deadLettered += Number(s.deadLetter) || 0
  }
  const rabbit = brokers.every((b) => b === 'conectado') ? 'conectado' : brokers.some((b) => b === 'desconectado') ? 'desconectado' : 'desconocido'
  showIndicator('salud-rabbitmq', rabbit)
  setText($('salud-detalle'), 'Mensajes por publicar: ' + outbox + ' · en colas de mensajes muertos: ' + deadLettered)
}

/** The next health check in HEALTH_MS, unless the tab is hidden. */
export function scheduleHealth () {
  clearTimeout(state.healthTimer)
  if (document.hidden) return
  state.healthTimer = setTimeout(async () => {
    await refreshHealth().catch(() => {})
    scheduleHealth()
  }, HEALTH_MS)
}

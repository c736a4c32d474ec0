/*
 * Panel de pagos: plain JavaScript against the gateway's own JSON API, as ES
 * modules (no build step): api.js calls the gateway, health-panel.js,
 * usuarios-table.js and cuenta-panel.js each draw one part of the page,
 * forms.js holds what the forms share, and this entry wires the events and
 * runs the polling loop. importe.js (a classic script, loaded first) reads
 * amounts.
 *
 * Live updates by polling, not Server-Sent Events: EventSource can't send an
 * Authorization header (the API key would have to go in the URL, and from
 * there into logs), the gateway stays a thin proxy with no stream to hold
 * open per browser, and polling works unchanged across several instances.
 * It polls every second while a payment is pending, every 5 s otherwise, and
 * stops while the tab is hidden.
 */

import { api } from './api.js'
import { refrescarCuenta } from './cuenta-panel.js'
import { $, dinero } from './dom.js'
import { avisar, claveIdempotencia, enviar, fallar, guardarClave, importeInvalido, leerImporte } from './forms.js'
import { programarSalud, refrescarSalud } from './health-panel.js'
import { estado, LENTO_MS, POR_PAGINA, RAPIDO_MS } from './state.js'
import { refrescarUsuarios } from './usuarios-table.js'

// ------------------------------------------------------------ bucle

function elegir (id, anunciar) {
  if (estado.usuarioId !== id) estado.vistos.clear()
  estado.usuarioId = id
  if (location.hash !== '#usuario-' + id) history.replaceState(null, '', '#usuario-' + id)
  refrescar().then(() => {
    if (anunciar) {
      avisar('Cuenta de ' + $('cuenta-nombre').textContent + ' abierta.')
      $('t-cuenta').scrollIntoView({ block: 'nearest' })
    }
  })
}

async function refrescar () {
  clearTimeout(estado.temporizador)
  const resultados = await Promise.allSettled([refrescarUsuarios(elegir), refrescarCuenta()])
  const fallo = resultados.find((r) => r.status === 'rejected')
  if (fallo) fallar(fallo.reason)
  else if ($('error').textContent.startsWith('No hay conexión') || $('error').textContent.startsWith('El gateway pide')) $('error').textContent = ''
  programar()
}

function programar () {
  clearTimeout(estado.temporizador)
  if (document.hidden) return
  estado.temporizador = setTimeout(refrescar, estado.pendientes ? RAPIDO_MS : LENTO_MS)
}

// ---------------------------------------------------------- eventos

$('form-clave').addEventListener('submit', (e) => {
  e.preventDefault()
  guardarClave($('clave').value.trim())
  avisar(estado.clave === '' ? 'Clave olvidada.' : 'Clave guardada.')
  refrescar()
})
$('olvidar-clave').addEventListener('click', () => {
  $('clave').value = ''
  guardarClave('')
  avisar('Clave olvidada.')
})

$('usuarios-anteriores').addEventListener('click', () => {
  estado.offset = Math.max(0, estado.offset - POR_PAGINA)
  refrescar()
})
$('usuarios-siguientes').addEventListener('click', () => {
  estado.offset += POR_PAGINA
  refrescar()
})

$('form-crear').addEventListener('submit', (e) => {
  e.preventDefault()
  const form = e.currentTarget
  const nombre = $('crear-nombre').value.trim()
  const textoSaldo = $('crear-saldo').value.trim()
  const saldo = textoSaldo === '' ? 0 : leerImporte(textoSaldo, { ceroValido: true, saldo: true })
  if (saldo === undefined) return importeInvalido($('crear-saldo'), { saldo: true })
  enviar(form, async () => {
    const usuario = await api('POST', '/usuarios', { nombre, saldo })
    form.reset()
    avisar('Usuario ' + usuario.nombre + ' creado con el id ' + usuario.id + '.')
    estado.offset = Math.max(0, Math.floor((usuario.id - 1) / POR_PAGINA) * POR_PAGINA)
    elegir(usuario.id, false)
  })
})

$('form-recargar').addEventListener('submit', (e) => {
  e.preventDefault()
  const form = e.currentTarget
  const monto = leerImporte($('recargar-monto').value)
  if (monto === undefined) return importeInvalido($('recargar-monto'))
  const id = estado.usuarioId
  enviar(form, async () => {
    const r = await api('POST', '/usuarios/' + id + '/recargar', { monto }, { 'idempotency-key': claveIdempotencia(form) })
    form.reset()
    avisar('Recarga de ' + dinero.format(monto) + ' hecha. Saldo: ' + dinero.format(r.usuario.saldo) + '.')
    await refrescar()
  })
})

$('form-pagar').addEventListener('submit', (e) => {
  e.preventDefault()
  const form = e.currentTarget
  const monto = leerImporte($('pagar-monto').value)
  if (monto === undefined) return importeInvalido($('pagar-monto'))
  const concepto = $('pagar-concepto').value.trim()
  const id = estado.usuarioId
  enviar(form, async () => {
    const cuerpo = concepto === '' ? { monto } : { monto, concepto }
    const r = await api('POST', '/usuarios/' + id + '/pagar', cuerpo, { 'idempotency-key': claveIdempotencia(form) })
    form.reset()
    estado.vistos.set(r.pago.id, 'pendiente')
    estado.pendientes = true
    avisar('Pago de ' + dinero.format(monto) + ' solicitado: pendiente. Saldo: ' + dinero.format(r.usuario.saldo) + '.')
    await refrescar()
  })
})

// Editing an amount after a failed attempt is a new operation: a new Idempotency-Key.
for (const id of ['form-recargar', 'form-pagar']) {
  $(id).addEventListener('input', (e) => {
    delete e.currentTarget.dataset.idempotencia
    e.target.removeAttribute('aria-invalid')
  })
}
$('form-crear').addEventListener('input', (e) => e.target.removeAttribute('aria-invalid'))

document.addEventListener('visibilitychange', () => {
  if (document.hidden) {
    clearTimeout(estado.temporizador)
    clearTimeout(estado.saludTemporizador)
  } else {
    refrescar()
    refrescarSalud().catch(() => {}).finally(programarSalud)
  }
})

// ---------------------------------------------------------- arranque

$('clave').value = estado.clave
guardarClave(estado.clave)
const desdeEnlace = /^#usuario-(\d+)$/.exec(location.hash)
if (desdeEnlace) estado.usuarioId = Number(desdeEnlace[1])
refrescarSalud().catch(() => {}).finally(programarSalud)
refrescar()

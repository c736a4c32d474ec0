/*
 * Panel de pagos: plain JavaScript against the gateway's own JSON API.
 *
 * Live updates by polling, not Server-Sent Events: EventSource can't send an
 * Authorization header (the API key would have to go in the URL, and from
 * there into logs), the gateway stays a thin proxy with no stream to hold
 * open per browser, and polling works unchanged across several instances.
 * It polls every second while a payment is pending, every 5 s otherwise, and
 * stops while the tab is hidden.
 */
(function () {
  'use strict'

  const CLAVE = 'pagos.claveApi'
  const RAPIDO_MS = 1000
  const LENTO_MS = 5000
  const SALUD_MS = 10000
  const POR_PAGINA = 20

  const $ = (id) => document.getElementById(id)
  const dinero = new Intl.NumberFormat('es-ES', { minimumFractionDigits: 2, maximumFractionDigits: 2 })
  const hora = new Intl.DateTimeFormat('es-ES', { hour: '2-digit', minute: '2-digit', second: '2-digit' })

  const estado = {
    clave: leerClave(),
    offset: 0,
    total: 0,
    usuarioId: null,
    /** pagoId → estado seen last time, to announce each change once. */
    vistos: new Map(),
    pendientes: false,
    temporizador: undefined,
    saludTemporizador: undefined
  }

  // ---------------------------------------------------------------- API

  class ErrorApi extends Error {
    constructor (status, message, body) {
      super(message)
      this.status = status
      this.body = body
    }
  }

  /** One call to the gateway: { status, body }. Never throws for an HTTP status; 0 when unreachable. */
  async function peticion (metodo, ruta, cuerpo, cabeceras) {
    const headers = Object.assign({ accept: 'application/json' }, cabeceras)
    if (estado.clave !== '') headers.authorization = 'Bearer ' + estado.clave
    const init = { method: metodo, headers, cache: 'no-store' }
    if (cuerpo !== undefined) {
      headers['content-type'] = 'application/json'
      init.body = JSON.stringify(cuerpo)
    }
    let res
    try {
      res = await fetch(ruta, init)
    } catch (err) {
      return { status: 0, body: null }
    }
    const body = await res.json().catch(() => null)
    return { status: res.status, body }
  }

  async function api (metodo, ruta, cuerpo, cabeceras) {
    const r = await peticion(metodo, ruta, cuerpo, cabeceras)
    if (r.status >= 200 && r.status < 300) return r.body
    if (r.status === 0) throw new ErrorApi(0, 'No hay conexión con el gateway.')
    if (r.status === 401) throw new ErrorApi(401, 'El gateway pide una clave de API: escríbela en «Clave de API» y guárdala.', r.body)
    const texto = r.body && typeof r.body.error === 'string' ? r.body.error : 'Error HTTP ' + r.status
    // The API's Spanish detail names the field in backticks: «monto» reads better on a page.
    const detalle = r.body && typeof r.body.detalle === 'string' ? ': ' + r.body.detalle.replace(/`([^`]*)`/g, '«$1»') : ''
    const tope = r.body && r.body.code === 'SALDO_MAXIMO_SUPERADO'
      ? ': el saldo máximo es ' + dinero.format(r.body.saldoMaximo) + (r.body.pendiente > 0 ? ', contando ' + dinero.format(r.body.pendiente) + ' en pagos pendientes' : '') + '.'
      : ''
    throw new ErrorApi(r.status, texto + detalle + tope, r.body)
  }

  // ------------------------------------------------------------ helpers

  function leerClave () {
    try { return sessionStorage.getItem(CLAVE) || '' } catch (err) { return '' }
  }

  function guardarClave (clave) {
    estado.clave = clave
    try {
      if (clave === '') sessionStorage.removeItem(CLAVE)
      else sessionStorage.setItem(CLAVE, clave)
    } catch (err) { /* private mode: the key lives in memory only */ }
    $('clave-estado').textContent = clave === '' ? 'Sin clave.' : 'Clave guardada para esta pestaña.'
  }

  /**
   * What the page shows ("10.000.740,28") or what people type ("1234,56",
   * "12.5") → the JSON number to send; undefined when it is not a positive
   * amount with at most 2 decimals within the limits (importe.js).
   */
  function leerImporte (texto, opciones) {
    return window.Importe.leer(texto, opciones)
  }

  function avisar (texto) {
    $('error').textContent = ''
    $('aviso').textContent = texto
  }

  function fallar (err) {
    $('error').textContent = err instanceof ErrorApi || err instanceof Error ? err.message : String(err)
    if (err instanceof ErrorApi && err.status === 401) $('clave').focus()
  }

  function importeInvalido (input, { saldo = false } = {}) {
    input.setAttribute('aria-invalid', 'true')
    fallar(new Error(saldo
      ? 'El saldo inicial debe ser 0 o un importe con como máximo 2 decimales, hasta ' + dinero.format(window.Importe.desdeCentimos(window.Importe.SALDO_MAXIMO_CENTIMOS)) + ' (por ejemplo 1.234,50).'
      : 'Escribe un importe mayor que 0 con como máximo 2 decimales, hasta ' + dinero.format(window.Importe.desdeCentimos(window.Importe.MONTO_MAXIMO_CENTIMOS)) + ' (por ejemplo 1.234,50 o 12.5).'))
    input.focus()
  }

  /** An Idempotency-Key for one intended operation, kept until it gets a definite answer. */
  function claveIdempotencia (form) {
    if (!form.dataset.idempotencia) {
      const bytes = new Uint8Array(16)
      crypto.getRandomValues(bytes)
      form.dataset.idempotencia = 'panel-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
    }
    return form.dataset.idempotencia
  }

  /** Runs a form's action with its button busy; a definite answer (not a network error or 5xx) frees its Idempotency-Key. */
  async function enviar (form, accion) {
    const boton = form.querySelector('button[type="submit"]')
    boton.disabled = true
    form.setAttribute('aria-busy', 'true')
    try {
      await accion()
      delete form.dataset.idempotencia
    } catch (err) {
      if (err instanceof ErrorApi && err.status > 0 && err.status < 500) delete form.dataset.idempotencia
      fallar(err)
    } finally {
      boton.disabled = false
      form.removeAttribute('aria-busy')
    }
  }

  function celda (fila, texto, clase) {
    const td = document.createElement('td')
    td.textContent = texto
    if (clase) td.className = clase
    fila.appendChild(td)
    return td
  }

  /**
   * Rows keyed by id: when the ids are the same as shown, only changed text
   * is touched, so a polled refresh never moves the keyboard focus.
   */
  function sincronizarFilas (tbody, elementos, clave, crear, actualizar) {
    const actuales = Array.from(tbody.rows).map((f) => f.dataset.clave)
    const nuevas = elementos.map((e) => String(clave(e)))
    if (actuales.join('\n') !== nuevas.join('\n')) {
      const foco = document.activeElement && tbody.contains(document.activeElement) ? document.activeElement.dataset.foco : undefined
      tbody.replaceChildren(...elementos.map((e) => {
        const fila = crear(e)
        fila.dataset.clave = String(clave(e))
        return fila
      }))
      if (foco) tbody.querySelector('[data-foco="' + CSS.escape(foco) + '"]')?.focus()
    }
    elementos.forEach((e, i) => actualizar(tbody.rows[i], e))
  }

  function poner (elemento, texto) {
    if (elemento.textContent !== texto) elemento.textContent = texto
  }

  // ------------------------------------------------------------- salud

  const NOMBRES = { ok: 'en marcha', caido: 'caído', conectado: 'conectado', desconectado: 'desconectado', desconocido: 'desconocido' }

  function indicador (id, valor, titulo) {
    const el = $(id)
    el.dataset.estado = valor
    poner(el, NOMBRES[valor] || valor)
    if (titulo) el.title = titulo
    else el.removeAttribute('title')
  }

  async function refrescarSalud () {
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

  function programarSalud () {
    clearTimeout(estado.saludTemporizador)
    if (document.hidden) return
    estado.saludTemporizador = setTimeout(async () => {
      await refrescarSalud().catch(() => {})
      programarSalud()
    }, SALUD_MS)
  }

  // ---------------------------------------------------------- usuarios

  async function refrescarUsuarios () {
    const datos = await api('GET', '/usuarios?limit=' + POR_PAGINA + '&offset=' + estado.offset)
    estado.total = datos.total
    if (datos.usuarios.length === 0 && estado.offset > 0) {
      estado.offset = Math.max(0, estado.offset - POR_PAGINA)
      return await refrescarUsuarios()
    }
    sincronizarFilas($('tabla-usuarios').tBodies[0], datos.usuarios, (u) => u.id, (u) => {
      const fila = document.createElement('tr')
      celda(fila, String(u.id), 'num')
      celda(fila, '')
      celda(fila, '', 'num')
      const td = celda(fila, '')
      const boton = document.createElement('button')
      boton.type = 'button'
      boton.className = 'secundario'
      boton.dataset.foco = 'usuario-' + u.id
      boton.addEventListener('click', () => elegir(u.id, true))
      td.appendChild(boton)
      return fila
    }, (fila, u) => {
      poner(fila.cells[1], u.nombre)
      poner(fila.cells[2], dinero.format(u.saldo))
      const boton = fila.cells[3].firstChild
      poner(boton, u.id === estado.usuarioId ? 'Elegido' : 'Elegir')
      boton.setAttribute('aria-label', (u.id === estado.usuarioId ? 'Elegido: ' : 'Elegir a ') + u.nombre)
      boton.setAttribute('aria-pressed', String(u.id === estado.usuarioId))
      if (u.id === estado.usuarioId) fila.setAttribute('aria-current', 'true')
      else fila.removeAttribute('aria-current')
    })
    const desde = datos.total === 0 ? 0 : estado.offset + 1
    const hasta = estado.offset + datos.usuarios.length
    poner($('usuarios-rango'), desde + '–' + hasta + ' de ' + datos.total)
    $('usuarios-anteriores').disabled = estado.offset === 0
    $('usuarios-siguientes').disabled = hasta >= datos.total
  }

  // ------------------------------------------------------------ cuenta

  async function refrescarCuenta () {
    if (estado.usuarioId === null) return
    const id = estado.usuarioId
    const [usuario, lista] = await Promise.all([
      api('GET', '/usuarios/' + id),
      api('GET', '/usuarios/' + id + '/pagos?limit=20')
    ])
    if (id !== estado.usuarioId) return
    poner($('cuenta-nombre'), usuario.nombre + ' (#' + usuario.id + ')')
    poner($('cuenta-saldo'), dinero.format(usuario.saldo))
    $('cuenta-vacia').hidden = true
    $('cuenta-detalle').hidden = false

    for (const p of lista.pagos) {
      const antes = estado.vistos.get(p.id)
      if (antes === 'pendiente' && p.estado !== 'pendiente') {
        avisar('Pago de ' + dinero.format(p.monto) + (p.concepto ? ' (' + p.concepto + ')' : '') + ': ' + p.estado + (p.estado === 'fallido' ? ', importe devuelto al saldo.' : '.'))
      }
      estado.vistos.set(p.id, p.estado)
    }
    estado.pendientes = lista.pagos.some((p) => p.estado === 'pendiente')

    sincronizarFilas($('tabla-pagos').tBodies[0], lista.pagos, (p) => p.id, () => {
      // Concept, amount and state first: what a phone shows without scrolling the table.
      const fila = document.createElement('tr')
      celda(fila, '')
      celda(fila, '', 'num')
      const td = celda(fila, '')
      const marca = document.createElement('span')
      marca.className = 'estado'
      td.appendChild(marca)
      celda(fila, '')
      celda(fila, '', 'motivo')
      return fila
    }, (fila, p) => {
      poner(fila.cells[0], p.concepto || '—')
      poner(fila.cells[1], dinero.format(p.monto))
      const marca = fila.cells[2].firstChild
      marca.dataset.estado = p.estado
      poner(marca, p.estado)
      poner(fila.cells[3], hora.format(new Date(p.creadoEn)))
      poner(fila.cells[4], p.motivo || '')
    })
    $('pagos-vacio').hidden = lista.pagos.length > 0
  }

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

  // ------------------------------------------------------------ bucle

  async function refrescar () {
    clearTimeout(estado.temporizador)
    const resultados = await Promise.allSettled([refrescarUsuarios(), refrescarCuenta()])
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
})()

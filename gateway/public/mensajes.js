/* The message contracts, rendered from the gateway's /asyncapi.json (built from contracts/messages.ts). */
(function () {
  'use strict'

  function el (tag, texto, clase) {
    const e = document.createElement(tag)
    if (texto !== undefined) e.textContent = texto
    if (clase) e.className = clase
    return e
  }

  /** Text whose `inline code` (Markdown backticks) becomes <code>, never HTML from the document. */
  function conCodigo (e, texto) {
    String(texto === undefined || texto === null ? '' : texto).split('`').forEach((parte, i) => {
      if (parte === '') return
      if (i % 2 === 1) e.appendChild(el('code', parte))
      else e.appendChild(document.createTextNode(parte))
    })
    return e
  }

  /** A <tag class=clase> with that text, backticks as <code>. */
  function texto (tag, t, clase) {
    return conCodigo(el(tag, undefined, clase), t)
  }

  function tipo (s) {
    if (s.const !== undefined) return JSON.stringify(s.const)
    if (Array.isArray(s.enum)) return s.enum.map((v) => JSON.stringify(v)).join(' | ')
    if (Array.isArray(s.anyOf)) return s.anyOf.map(tipo).join(' | ')
    return (s.type || 'cualquiera') + (s.format ? ' (' + s.format + ')' : '')
  }

  function restricciones (s) {
    const partes = []
    if (s.description) partes.push(s.description)
    for (const [k, nombre] of [['minimum', 'mínimo'], ['maximum', 'máximo'], ['minLength', 'longitud mínima'], ['maxLength', 'longitud máxima']]) {
      if (s[k] !== undefined) partes.push(nombre + ' ' + s[k])
    }
    return partes.join('; ')
  }

  function seccion (id, m, operaciones) {
    const s = el('section', undefined, 'panel')
    s.setAttribute('aria-labelledby', 'm-' + id)
    const h = el('h2', m.name + ' — ' + m.title)
    h.id = 'm-' + id
    s.appendChild(h)
    s.appendChild(texto('p', m.summary))
    for (const op of operaciones) s.appendChild(texto('p', op.summary + (op.description ? ' ' + op.description : ''), 'ayuda'))
    s.appendChild(texto('p', m.description, 'ayuda'))

    const envoltura = el('div', undefined, 'tabla')
    envoltura.setAttribute('role', 'region')
    envoltura.setAttribute('aria-label', 'Campos de ' + m.name)
    envoltura.tabIndex = 0
    const tabla = el('table')
    const cabecera = tabla.createTHead().insertRow()
    for (const t of ['Campo', 'Tipo', 'Obligatorio', 'Restricciones']) {
      const th = el('th', t)
      th.scope = 'col'
      cabecera.appendChild(th)
    }
    const cuerpo = tabla.createTBody()
    const requeridos = new Set(m.payload.required || [])
    for (const [campo, esquema] of Object.entries(m.payload.properties || {})) {
      const fila = cuerpo.insertRow()
      const th = el('th', campo)
      th.scope = 'row'
      fila.appendChild(th)
      fila.insertCell().textContent = tipo(esquema)
      fila.insertCell().textContent = requeridos.has(campo) ? 'sí' : 'no'
      conCodigo(fila.insertCell(), restricciones(esquema))
    }
    envoltura.appendChild(tabla)
    s.appendChild(envoltura)

    for (const ejemplo of m.examples || []) {
      s.appendChild(el('h3', 'Ejemplo'))
      s.appendChild(el('pre', JSON.stringify(ejemplo.payload, null, 2)))
    }
    const detalles = el('details')
    detalles.appendChild(el('summary', 'Esquema JSON completo'))
    detalles.appendChild(el('pre', JSON.stringify(m.payload, null, 2)))
    s.appendChild(detalles)
    return s
  }

  fetch('/asyncapi.json', { headers: { accept: 'application/json' } })
    .then((r) => r.json())
    .then((doc) => {
      const intro = document.getElementById('introduccion')
      intro.replaceChildren()
      conCodigo(intro, doc.info.description)
      const destino = document.getElementById('mensajes')
      const operaciones = Object.values(doc.operations || {})
      for (const [id, m] of Object.entries(doc.components.messages)) {
        const suyas = operaciones.filter((op) => op.channel.$ref === '#/channels/' + id)
        destino.appendChild(seccion(id, m, suyas))
      }
    })
    .catch((err) => {
      document.getElementById('error').textContent = 'No se pudieron cargar los contratos: ' + err.message
    })
})()

/* Small DOM and formatting helpers shared by the dashboard's modules; no state. */

/** The element with that id. */
export const $ = (id) => document.getElementById(id)

/** Money as the page shows it: es-ES, always 2 decimals ("10.000.740,28"). */
export const dinero = new Intl.NumberFormat('es-ES', { minimumFractionDigits: 2, maximumFractionDigits: 2 })
/** A time of day, hh:mm:ss. */
export const hora = new Intl.DateTimeFormat('es-ES', { hour: '2-digit', minute: '2-digit', second: '2-digit' })

/** Sets an element's text only when it changed (no needless DOM writes while polling). */
export function poner (elemento, texto) {
  if (elemento.textContent !== texto) elemento.textContent = texto
}

/** Appends a <td> with `texto` (and class `clase`) to `fila`; returns it. */
export function celda (fila, texto, clase) {
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
export function sincronizarFilas (tbody, elementos, clave, crear, actualizar) {
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

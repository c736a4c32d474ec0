/* Small DOM and formatting helpers shared by the dashboard's modules; no state. */

/** The element with that id. */
export const $ = (id) => document.getElementById(id)

/**
 * Money as the page shows it: es-ES, always 2 decimals, always grouped
 * ("1.234,56", "10.000.740,28"; es-ES alone would print "1234,56" for four digits).
 */
export const money = new Intl.NumberFormat('es-ES', { minimumFractionDigits: 2, maximumFractionDigits: 2, useGrouping: 'always' })
/** A time of day, hh:mm:ss. */
export const timeOfDay = new Intl.DateTimeFormat('es-ES', { hour: '2-digit', minute: '2-digit', second: '2-digit' })

/** Sets an element's text only when it changed (no needless DOM writes while polling). */
export function setText (element, text) {
  if (element.textContent !== text) element.textContent = text
}

/** Appends a <td> with `text` (and class `cls`) to `row`; returns it. */
export function addCell (row, text, cls) {
  const td = document.createElement('td')
  td.textContent = text
  if (cls) td.className = cls
  row.appendChild(td)
  return td
}

/**
 * Rows keyed by id: when the ids are the same as shown, only changed text
 * is touched, so a polled refresh never moves the keyboard focus.
 */
export function syncRows (tbody, items, keyOf, create, update) {
  const shown = Array.from(tbody.rows).map((f) => f.dataset.clave)
  const wanted = items.map((e) => String(keyOf(e)))
  if (shown.join('\n') !== wanted.join('\n')) {
    const focused = document.activeElement && tbody.contains(document.activeElement) ? document.activeElement.dataset.foco : undefined
    tbody.replaceChildren(...items.map((e) => {
      const row = create(e)
      row.dataset.clave = String(keyOf(e))
      return row
    }))
    if (focused) tbody.querySelector('[data-foco="' + CSS.escape(focused) + '"]')?.focus()
  }
  items.forEach((e, i) => update(tbody.rows[i], e))
}

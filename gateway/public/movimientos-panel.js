/*
 * «Movimientos»: the chosen user's statement, newest first. The polling loop
 * asks for the first page and puts what is new on top; «Más movimientos»
 * appends the next (older) page by its `siguiente` cursor; «Descargar CSV»
 * fetches the whole statement as text/csv (with the key, like every call)
 * and saves it through a blob: link, which the page's CSP allows.
 */

import { api, download } from './api.js'
import { $, addCell, money, setText, syncRows } from './dom.js'
import { showError } from './forms.js'
import { state } from './state.js'

const PAGE = 20
const TIPOS = { alta: 'alta', recarga: 'recarga', pago: 'pago', devolucion: 'devolución', reembolso: 'reembolso' }
const dateTime = new Intl.DateTimeFormat('es-ES', { dateStyle: 'short', timeStyle: 'medium' })
/** A signed amount: "+500,00", "−20,00" (a real minus sign). */
export const signed = (n) => (n < 0 ? '−' + money.format(-n) : '+' + money.format(n))

/** What is shown after a first page arrives: its new movements on top of those shown, or that page alone when it does not reach them. */
export function mergeFirstPage (shown, shownNext, first, next) {
  if (shown.length === 0) return { movimientos: first, siguiente: next }
  const newest = shown[0].id
  const fresh = first.filter((m) => m.id > newest)
  if (fresh.length === first.length && next !== null) return { movimientos: first, siguiente: next }
  return { movimientos: [...fresh, ...shown], siguiente: shownNext }
}

function draw () {
  syncRows($('tabla-movimientos').tBodies[0], state.movimientos, (m) => m.id, () => {
    const row = document.createElement('tr')
    addCell(row, '')
    addCell(row, '', 'num')
    addCell(row, '', 'num')
    addCell(row, '')
    addCell(row, '', 'referencia')
    return row
  }, (row, m) => {
    setText(row.cells[0], TIPOS[m.tipo] || m.tipo)
    setText(row.cells[1], signed(m.monto))
    row.cells[1].dataset.signo = m.monto < 0 ? 'negativo' : 'positivo'
    setText(row.cells[2], money.format(m.saldo))
    setText(row.cells[3], dateTime.format(new Date(m.fecha)))
    setText(row.cells[4], m.referencia || '—')
  })
  $('movimientos-vacio').hidden = state.movimientos.length > 0
  $('movimientos-mas').hidden = state.siguiente === null
  setText($('movimientos-rango'), state.movimientos.length + (state.siguiente === null ? ' movimientos' : ' movimientos mostrados; hay más antiguos'))
}

/** Fetches the first page of state.usuarioId's statement and shows what is new. */
export async function refreshMovimientos () {
  if (state.usuarioId === null) return
  const id = state.usuarioId
  const page = await api('GET', '/usuarios/' + id + '/movimientos?limit=' + PAGE)
  if (id !== state.usuarioId) return
  const merged = mergeFirstPage(state.movimientos, state.siguiente, page.movimientos, page.siguiente)
  state.movimientos = merged.movimientos
  state.siguiente = merged.siguiente
  setText($('t-movimientos'), 'Movimientos de ' + $('cuenta-nombre').textContent)
  $('movimientos').hidden = false
  draw()
}

/** Forgets the statement shown (another user was chosen). */
export function resetMovimientos () {
  state.movimientos = []
  state.siguiente = null
}

async function more () {
  if (state.siguiente === null) return
  const id = state.usuarioId
  const page = await api('GET', '/usuarios/' + id + '/movimientos?limit=' + PAGE + '&cursor=' + encodeURIComponent(state.siguiente))
  if (id !== state.usuarioId) return
  const known = new Set(state.movimientos.map((m) => m.id))
  state.movimientos = [...state.movimientos, ...page.movimientos.filter((m) => !known.has(m.id))]
  state.siguiente = page.siguiente
  draw()
}

async function saveCsv () {
  const id = state.usuarioId
  const blob = await download('/usuarios/' + id + '/movimientos', 'text/csv')
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = 'movimientos-usuario-' + id + '.csv'
  a.hidden = true
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 60_000)
}

/** Runs a button's action with the button busy; an error shows next to the statement. */
async function busy (button, action) {
  button.disabled = true
  $('error-movimientos').textContent = ''
  try {
    await action()
  } catch (err) {
    showError(err, $('movimientos'))
  } finally {
    button.disabled = false
  }
}

/** The statement's buttons. */
export function wireMovimientos () {
  $('movimientos-mas').addEventListener('click', (e) => busy(e.currentTarget, more))
  $('movimientos-csv').addEventListener('click', (e) => busy(e.currentTarget, saveCsv))
}

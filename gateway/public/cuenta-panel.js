/* «Cuenta»: the chosen user's balance and last payments; announces each payment that stops being pendiente. */

import { api } from './api.js'
import { $, celda, dinero, hora, poner, sincronizarFilas } from './dom.js'
import { avisar } from './forms.js'
import { estado } from './state.js'

/** Fetches and shows the account of estado.usuarioId (nothing without one); sets estado.pendientes. */
export async function refrescarCuenta () {
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

/*
 * What the dashboard remembers between refreshes: the API key, the page of
 * users shown, the chosen account, and the timers of the polling loop.
 */

/** The sessionStorage key the API key is kept under. */
export const CLAVE = 'pagos.claveApi'
export const RAPIDO_MS = 1000
export const LENTO_MS = 5000
export const SALUD_MS = 10000
export const POR_PAGINA = 20

export const estado = {
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

/** The API key kept in this tab (sessionStorage), or '' without one. */
function leerClave () {
  try { return sessionStorage.getItem(CLAVE) || '' } catch (err) { return '' }
}

/*
 * What the dashboard remembers between refreshes: the API key, the page of
 * users shown, the chosen account (its payments, refunds and statement),
 * and the timers of the polling loop.
 */

/** The sessionStorage key the API key is kept under. */
export const API_KEY_ITEM = 'pagos.claveApi'
/** Polling intervals, in ms: while a payment is pending, otherwise, and for /health. */
export const FAST_MS = 1000
export const SLOW_MS = 5000
export const HEALTH_MS = 10000
/** Users per page of the list. */
export const PAGE_SIZE = 20

export const state = {
  apiKey: readApiKey(),
  offset: 0,
  total: 0,
  usuarioId: null,
  /** pagoId → the payment's estado seen last time, to announce each change once. */
  seen: new Map(),
  pending: false,
  /** The page's payments (id → payment), for the refund form. */
  pagos: new Map(),
  /** pagoId → { reembolsado, reembolsos } last fetched; a payment with a refund asked from this page is in it. */
  refunds: new Map(),
  /** reembolsoId → its estado seen last time, to announce each change once. */
  seenRefunds: new Map(),
  /** The statement shown: its movements (newest first) and the cursor of the next page (null: none). */
  movimientos: [],
  siguiente: null,
  timer: undefined,
  healthTimer: undefined
}

/** The API key kept in this tab (sessionStorage), or '' without one. */
function readApiKey () {
  try { return sessionStorage.getItem(API_KEY_ITEM) || '' } catch (err) { return '' }
}

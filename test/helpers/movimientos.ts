import type { Movimiento } from '../../contracts/http/movimientos.js'

/** A GET that answers a status and a parsed JSON body (app.inject, or fetch through test/helpers/http.ts). */
export type GetJson = (url: string) => Promise<{ status: number, body: any }>

/**
 * Every movement of a usuario through the API, newest first, following
 * `siguiente` page by page (`limit` each); throws on any answer but a 200.
 */
export async function allMovimientos (get: GetJson, usuarioId: number, limit = 100): Promise<Movimiento[]> {
  const out: Movimiento[] = []
  let cursor: string | null = null
  for (let pages = 0; pages < 100_000; pages++) {
    const r = await get(`/usuarios/${usuarioId}/movimientos?limit=${limit}${cursor === null ? '' : `&cursor=${cursor}`}`)
    if (r.status !== 200) throw new Error(`movimientos of ${usuarioId}: ${r.status} ${JSON.stringify(r.body)}`)
    out.push(...r.body.movimientos)
    cursor = r.body.siguiente
    if (cursor === null) return out
  }
  throw new Error(`movimientos of ${usuarioId}: too many pages`)
}

import { Readable } from 'node:stream'
import { decodeCursor, encodeCursor, MOVIMIENTOS_CSV_COLUMNS, MOVIMIENTOS_POR_DEFECTO, type Movimiento } from '../../contracts/http/movimientos.js'
import { MovimientosApi } from '../../contracts/http/movimientos-operations.js'
import type { App } from '../../lib/http/http-app.js'
import { routeOf } from '../../lib/http/operation-route.js'
import { UsuarioNotFoundError } from '../errors.js'
import type { MovimientosStore } from '../store/movimientos.js'

/**
 * The account statement (contracts/http/movimientos-operations.ts): a page
 * of JSON, or with `Accept: text/csv` every movement as CSV (streamed, read
 * a page at a time). An unknown usuario is a 404 either way (JSON).
 */
export function registerMovimientosRoutes (app: App, movimientos: MovimientosStore): void {
  app.route({
    ...routeOf(MovimientosApi.listarMovimientos),
    handler: async (req, reply) => {
      const usuarioId = Number(req.params.usuarioId)
      if (prefersCsv(req.headers.accept)) {
        const found = await movimientos.all(usuarioId)
        if (found.kind === 'usuario-not-found') throw new UsuarioNotFoundError()
        reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="movimientos-${usuarioId}.csv"`)
        // A stream is sent as it is, never through the JSON serializer.
        return await reply.send(Readable.from(csvLines(found.pages)) as never)
      }
      const limit = req.query.limit === undefined ? MOVIMIENTOS_POR_DEFECTO : Number(req.query.limit)
      // The schema has checked the cursor: it decodes.
      const antes = req.query.cursor === undefined ? undefined : decodeCursor(req.query.cursor)
      const page = await movimientos.list(usuarioId, { limit, antes })
      if (page.kind === 'usuario-not-found') throw new UsuarioNotFoundError()
      return { movimientos: page.movimientos, siguiente: page.antes === undefined ? null : encodeCursor(page.antes) }
    }
  })
}

/**
 * Whether `Accept` asks for CSV rather than JSON. Each type gets the quality
 * of the most specific range that matches it (RFC 9110 §12.5.1: `text/csv`,
 * else `text/*`, else `*\/*`; none: 0); CSV is chosen when its quality is
 * above 0 and above JSON's. So `text/*` asks for CSV, `*\/*` alone (or no
 * Accept) keeps JSON, and `text/csv;q=0` refuses CSV even under `*\/*`.
 */
export function prefersCsv (accept: string | undefined): boolean {
  if (accept === undefined) return false
  const ranges = accept.split(',').map((part) => {
    const [range = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase())
    const quality = params.find((p) => p.startsWith('q='))
    const q = quality === undefined ? 1 : Number(quality.slice(2))
    return { range, q: Number.isFinite(q) && q >= 0 && q <= 1 ? q : 0 }
  })
  const q = (type: string): number => {
    const kind = `${type.slice(0, type.indexOf('/'))}/*`
    const exact = ranges.find((r) => r.range === type) ?? ranges.find((r) => r.range === kind) ?? ranges.find((r) => r.range === '*/*')
    return exact?.q ?? 0
  }
  const csv = q('text/csv')
  return csv > 0 && csv > q('application/json')
}

/** RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled. */
export function csvField (value: string | number | null): string {
  const text = value === null ? '' : String(value)
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

/** The header row, then one CRLF-ended line per movement. */
async function * csvLines (pages: AsyncIterable<Movimiento[]>): AsyncGenerator<string> {
  yield `${MOVIMIENTOS_CSV_COLUMNS.join(',')}\r\n`
  for await (const page of pages) {
    if (page.length > 0) yield page.map((m) => MOVIMIENTOS_CSV_COLUMNS.map((c) => csvField(m[c])).join(',') + '\r\n').join('')
  }
}

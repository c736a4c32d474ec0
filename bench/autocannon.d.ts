/* The part of autocannon 8's API the bench uses (the package ships no types). */
declare module 'autocannon' {
  export interface Histogram { average: number, mean: number, stddev: number, min: number, max: number, total: number, p50: number, p90: number, p99: number, p99_9: number, p2_5: number, p97_5: number }
  export interface RawRequest { method?: string, path?: string, headers?: Record<string, string>, body?: string | Buffer }
  export interface Request extends RawRequest {
    setupRequest?: (req: RawRequest, context: Record<string, unknown>) => RawRequest
    onResponse?: (status: number, body: string, context: Record<string, unknown>) => void
  }
  export interface Options {
    url: string
    connections?: number
    duration?: number
    amount?: number
    overallRate?: number
    timeout?: number
    method?: string
    headers?: Record<string, string>
    body?: string
    requests?: Request[]
    excludeErrorStats?: boolean
  }
  export interface Result {
    requests: Histogram
    latency: Histogram
    duration: number
    errors: number
    timeouts: number
    non2xx: number
    '2xx': number
    statusCodeStats: Record<string, { count: number }>
    start: Date
    finish: Date
  }
  export interface Instance extends PromiseLike<Result> { stop: () => void }
  function autocannon (opts: Options): Instance
  export default autocannon
}

import { LogController, type FastifyReply, type FastifyRequest } from 'fastify'

/**
 * One line per request — `request completed` with requestId, req (method, url,
 * client address), res.statusCode and responseTime — instead of Fastify's
 * two (`incoming request`, `request completed`). Log writes were the largest
 * item in the CPU profile of a proxied request (bench/FINDINGS.md §5).
 *
 * `success`: the level of answers below 400. The services log them at info;
 * the gateway at debug, because the service that answered logs the same
 * request id. 4xx/5xx are at info, a request that ended with an error (the
 * connection failed mid-answer) at error, as in Fastify.
 *
 * Every line logged for a request (by Fastify, a route or a plugin) carries
 * its id as `requestId`, the name it has at the HTTP edge (Fastify's own
 * default is `reqId`).
 */
export class OneLinePerRequest extends LogController {
  constructor (private readonly success: 'info' | 'debug' = 'info') {
    super({ requestIdLogLabel: 'requestId' })
  }

  override incomingRequest (): void {}

  override requestCompleted (error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return
    const line = { req: request, res: reply, responseTime: reply.elapsedTime }
    if (error) reply.log.error({ ...line, err: error }, 'request errored')
    else if (reply.statusCode >= 400) reply.log.info(line, 'request completed')
    else reply.log[this.success](line, 'request completed')
  }
}

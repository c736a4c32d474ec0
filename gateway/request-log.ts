import { LogController, type FastifyReply, type FastifyRequest } from 'fastify'

/**
 * At most one line per request — `request completed` with reqId, req
 * (method, url, client address), res.statusCode and responseTime — instead
 * of Fastify's two (`incoming request`, `request completed`). Every line goes
 * to the log file and to stdout, and those writes were the largest item in
 * the gateway's CPU profile.
 *
 * Answers below 400 are logged at debug: the service that answered logs the
 * same request id at info, so `grep <id> logs/*.log` still follows a payment.
 * What only the gateway knows — its own refusals (401, 413, 429) and the
 * 502/503/504 it answers for a service — stays at info; a request that ended
 * with an error (the connection failed mid-answer) at error, as in Fastify.
 */
export class GatewayRequestLog extends LogController {
  override incomingRequest (): void {}

  override requestCompleted (error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return
    const line = { req: request, res: reply, responseTime: reply.elapsedTime }
    if (error) reply.log.error({ ...line, err: error }, 'request errored')
    else if (reply.statusCode >= 400) reply.log.info(line, 'request completed')
    else reply.log.debug(line, 'request completed')
  }
}

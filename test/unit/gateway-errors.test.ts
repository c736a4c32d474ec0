import t from 'tap'
import * as errors from '../../gateway/errors.js'

/*
 * The gateway's answers are public: the class names in gateway/errors.ts may
 * change, their codes, statuses and Spanish messages may not.
 */

t.test('every error of the catalogue keeps its public code, status and message', async (t) => {
  const answers: Array<[Error & { code: string, statusCode?: number }, string, number, string]> = [
    [new errors.ServiceUnavailableError('pagos'), 'GATEWAY_ERR_SERVICIO_NO_DISPONIBLE', 503, 'Servicio pagos no disponible'],
    [new errors.UpstreamTimeoutError('pagos'), 'GATEWAY_ERR_TIEMPO_AGOTADO', 504, 'Servicio pagos no respondió a tiempo'],
    [new errors.BadUpstreamAnswerError('pagos'), 'GATEWAY_ERR_RESPUESTA_INVALIDA', 502, 'Servicio pagos respondió de forma inválida'],
    [new errors.ServiceNotReadyError('usuarios', 503), 'GATEWAY_ERR_SERVICIO_NO_LISTO', 503, 'Servicio usuarios no está listo (HTTP 503)'],
    [new errors.InvalidPathError(), 'GATEWAY_ERR_RUTA_INVALIDA', 400, 'Ruta inválida'],
    [new errors.UnauthorizedError(), 'GATEWAY_ERR_NO_AUTORIZADO', 401, 'No autorizado'],
    [new errors.TooManyRequestsError(), 'GATEWAY_ERR_DEMASIADAS_PETICIONES', 429, 'Demasiadas peticiones'],
    [new errors.BodyTooLargeError(), 'GATEWAY_ERR_CUERPO_DEMASIADO_GRANDE', 413, 'Cuerpo de la petición demasiado grande'],
    [new errors.BodyTimeoutError(), 'GATEWAY_ERR_CUERPO_LENTO', 408, 'El cuerpo de la petición no llegó a tiempo'],
    [new errors.BodyIncompleteError(), 'GATEWAY_ERR_CUERPO_INCOMPLETO', 400, 'El cuerpo de la petición llegó incompleto']
  ]
  for (const [err, code, status, message] of answers) t.match(err, { code, statusCode: status, message }, code)
})

t.test('a failed proxied call: unreachable is 503, slow or never sent in time is 504, anything else 502', async (t) => {
  const wrapped = (code: string) => Object.assign(new Error('reply-from'), { statusCode: 500, cause: Object.assign(new Error('undici'), { code }) })
  for (const code of errors.NOT_CONNECTED) t.equal(errors.upstreamError('pagos', wrapped(code)).code, 'GATEWAY_ERR_SERVICIO_NO_DISPONIBLE', code)
  for (const code of ['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']) t.equal(errors.upstreamError('pagos', wrapped(code)).code, 'GATEWAY_ERR_TIEMPO_AGOTADO', code)
  const queued = Object.assign(new Error('reply-from'), { statusCode: 500, cause: new errors.QueueTimeoutError(250) })
  t.equal(errors.upstreamError('pagos', queued).code, 'GATEWAY_ERR_TIEMPO_AGOTADO', 'a request given up in the queue')
  t.equal(errors.upstreamError('pagos', wrapped('ECONNRESET')).code, 'GATEWAY_ERR_RESPUESTA_INVALIDA')
  t.equal(errors.upstreamError('pagos', new errors.ClientGoneError()).code, 'GATEWAY_ERR_RESPUESTA_INVALIDA', 'nobody hears it anyway')
  t.equal(new errors.QueueTimeoutError(250).message, 'no connection to the service became free within 250 ms; the request was not sent')
})

import t from 'tap'
import { Type } from 'typebox'
import { redact } from '../../lib/process/redact.js'
import { parseAmqpUrl } from '../../lib/messaging/amqp-url.js'
import { ConfigError, loadConfig } from '../../lib/process/config.js'

/* One redact for every message that may show a URL: config errors and AMQP_URL errors alike. */

t.test('a URL\'s password is hidden, its user and host are kept', async (t) => {
  t.equal(redact('amqp://app:s3cret@rabbit:5672/vh'), 'amqp://app:***@rabbit:5672/vh')
  t.equal(redact('postgres://u:p@a/db and amqp://v:q@b'), 'postgres://u:***@a/db and amqp://v:***@b', 'every URL in the text')
  t.equal(redact('amqp://rabbit:5672'), 'amqp://rabbit:5672', 'no password, nothing changed')
  t.equal(redact('amqp://user@rabbit'), 'amqp://user@rabbit')
})

t.test('config and AMQP_URL errors both go through it', async (t) => {
  const amqp = messageOf(() => parseAmqpUrl('amqp://app:s3cret@bad host,other'))
  t.match(amqp, /app:\*\*\*@/)
  t.notMatch(amqp, /s3cret/)
  const config = messageOf(() => loadConfig(Type.Object({ N: Type.Integer() }), { N: 'http://u:s3cret@x' }), ConfigError)
  t.match(config, /^Invalid environment variable N="http:\/\/u:\*\*\*@x"/)
  t.notMatch(config, /s3cret/)
})

function messageOf (fn: () => unknown, type: new (...args: any[]) => Error = Error): string {
  try {
    fn()
  } catch (err) {
    if (err instanceof type) return err.message
    throw err
  }
  throw new Error('did not throw')
}

import { redact } from '../process/redact.js'

/**
 * `AMQP_URL` may name the nodes of a cluster:
 *
 *   amqp://user:pass@rabbit1:5672,rabbit2:5672,rabbit3/vhost?heartbeat=10
 *
 * rabbitmq-client takes one URL (credentials, vhost, options) plus a `hosts`
 * list, and connects to the hosts in turn, moving to the next one when a
 * connection fails or drops. A single-host URL is passed through as it is.
 */
export interface AmqpTarget {
  url: string
  hosts?: string[]
}

export function parseAmqpUrl (raw: string): AmqpTarget {
  if (!raw.includes(',')) return { url: raw }
  const match = /^(amqps?:\/\/)(?:([^@/?#]*)@)?([^/?#]*)(.*)$/.exec(raw.trim())
  if (match === null) throw new Error(`AMQP_URL ${JSON.stringify(redact(raw))} is not an amqp:// or amqps:// URL`)
  const [, scheme, userinfo, hostList, rest] = match as unknown as [string, string, string | undefined, string, string]
  const hosts = hostList.split(',').map((h) => h.trim())
  // rabbitmq-client splits each host at ':', so a list can't hold IPv6 literals.
  if (hosts.some((h) => !/^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(h))) {
    throw new Error(`AMQP_URL ${JSON.stringify(redact(raw))}: each host of a list must be name[:port], separated by commas`)
  }
  const url = `${scheme}${userinfo === undefined ? '' : `${userinfo}@`}${hosts[0]!}${rest}`
  return hosts.length > 1 ? { url, hosts } : { url }
}

import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)

/**
 * The uid and gid of a system user (`postgres`, `rabbitmq`), for a server
 * folder that user must own. Rejects when the user does not exist, naming
 * the Debian package that makes it.
 */
export async function systemUserIds (user: string, debianPackage: string): Promise<[number, number]> {
  const { stdout } = await run('id', [user]).catch(() => ({ stdout: '' }))
  const uid = Number(/uid=(\d+)/.exec(stdout)?.[1])
  const gid = Number(/gid=(\d+)/.exec(stdout)?.[1])
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error(`no ${user} system user (Debian package ${debianPackage})`)
  return [uid, gid]
}

import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

/* Reading deploy/systemd/* unit files as the tests of their directives need them. */

export const UNIT_DIR = join(resolve(import.meta.dirname, '..', '..'), 'deploy', 'systemd')

/** Each `Key=value` of a unit file in deploy/systemd, in order; a key may repeat. */
export function directives (unit: string): Array<[string, string]> {
  return readFileSync(join(UNIT_DIR, unit), 'utf8').split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#') && !line.startsWith('['))
    .map((line) => {
      const i = line.indexOf('=')
      return [line.slice(0, i), line.slice(i + 1)] as [string, string]
    })
}

/** Every value of `key` in `unit`, in order. */
export const values = (unit: string, key: string): string[] => directives(unit).filter(([k]) => k === key).map(([, v]) => v)
/** The value of `key` that systemd applies (the last one), or undefined. */
export const value = (unit: string, key: string): string | undefined => values(unit, key).at(-1)

/** The hardening every unit of ours carries (the services and the backup), directive → value. */
export const HARDENING: Readonly<Record<string, string>> = {
  User: 'pagos',
  Group: 'pagos',
  NoNewPrivileges: 'yes',
  ProtectSystem: 'strict',
  ProtectHome: 'yes',
  PrivateTmp: 'yes',
  PrivateDevices: 'yes',
  CapabilityBoundingSet: '',
  AmbientCapabilities: '',
  ProtectKernelTunables: 'yes',
  ProtectKernelModules: 'yes',
  ProtectControlGroups: 'yes',
  RestrictSUIDSGID: 'yes',
  RestrictNamespaces: 'yes',
  LockPersonality: 'yes',
  SystemCallArchitectures: 'native',
  UMask: '0027'
}

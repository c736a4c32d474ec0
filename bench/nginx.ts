import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { canConnect, freePort } from '../lib/launch/net.js'
import { sleep } from './stats.js'

/** The nginx binary, or undefined when it is not installed (the bench then skips its row). */
export function findNginx (): string | undefined {
  try {
    const found = execFileSync('sh', ['-c', 'command -v nginx'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim()
    if (found !== '') return found
  } catch { /* not on PATH */ }
  return ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx'].find((p) => existsSync(p))
}

export interface RunningNginx {
  url: string
  version: string
  /** What the bench configured, for the report. */
  settings: string
  process: ChildProcess
  /** The master and its worker(s), for the CPU share. */
  pids: () => Record<string, number>
  stop: () => Promise<void>
}

/**
 * A reverse proxy to one upstream with a keep-alive pool, in the foreground
 * (`daemon off;`) as a child of the bench, with everything in a temp dir.
 * One worker: the gateway is one Node process, so both get one core's worth
 * of event loop. Access log on (nginx's default), like the gateway's logs.
 */
export async function startNginx (bin: string, upstreamPort: number): Promise<RunningNginx> {
  const dir = mkdtempSync(join(tmpdir(), 'pagos-bench-nginx-'))
  const port = await freePort()
  const conf = `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream usuarios {
    server 127.0.0.1:${upstreamPort};
    keepalive 128;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${port};
    keepalive_requests 1000000;
    location / {
      proxy_pass http://usuarios;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`
  const confFile = join(dir, 'nginx.conf')
  writeFileSync(confFile, conf)
  // `nginx -v` prints its version on stderr.
  const version = spawnSync(bin, ['-v'], { encoding: 'utf8' }).stderr.trim().replace(/^nginx version: /, '') || 'nginx'
  let stderr = ''
  const child = spawn(bin, ['-c', confFile, '-p', dir], { stdio: ['ignore', 'ignore', 'pipe'] })
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGQUIT') // graceful: finish requests, then exit
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    }
    rmSync(dir, { recursive: true, force: true })
  }
  const deadline = Date.now() + 10_000
  while (!await canConnect(port)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop()
      throw new Error(`nginx did not start: ${stderr.trim()}`)
    }
    await sleep(50)
  }
  return {
    url: `http://127.0.0.1:${port}`,
    version,
    settings: 'worker_processes 1, upstream keepalive 128, proxy_http_version 1.1, access_log on',
    process: child,
    pids: () => {
      const out: Record<string, number> = { 'nginx master': child.pid! }
      try {
        const workers = readFileSync(`/proc/${child.pid!}/task/${child.pid!}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
        workers.forEach((pid, i) => { out[workers.length === 1 ? 'nginx worker' : `nginx worker ${i + 1}`] = pid })
      } catch { /* no /proc children file: the worker counts as "other" */ }
      return out
    },
    stop
  }
}

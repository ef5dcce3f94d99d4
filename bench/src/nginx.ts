import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { runCommand } from '@tenantry/devstack';
import { stopChild } from './children.ts';

/**
 * NGINX from Debian's `nginx` package, the peer reference of the gateway-overhead benchmark. Installed
 * the way devstack installs PostgreSQL: found when present, else `apt-get install` as root (once; later
 * runs find it), else a message saying what to install.
 */
export function findNginx(path = process.env.PATH ?? ''): string | undefined {
  const dirs = [...path.split(delimiter).filter(Boolean), '/usr/sbin', '/usr/local/sbin'];
  return dirs.map((dir) => join(dir, 'nginx')).find((candidate) => existsSync(candidate));
}

export async function ensureNginx(log: (line: string) => void): Promise<string> {
  const found = findNginx();
  if (found) return found;
  if (process.getuid?.() !== 0) {
    throw new Error('nginx not found: install it with `sudo apt-get install nginx` (Debian)');
  }
  log("installing NGINX from Debian's packages (apt-get install nginx)");
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await runCommand('apt-get', ['update', '-qq'], { env });
  await runCommand('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'nginx'], { env });
  const installed = findNginx();
  if (!installed) throw new Error('apt-get installed nginx but no nginx binary was found');
  return installed;
}

export interface NginxOptions {
  /** Where NGINX listens (127.0.0.1). */
  port: number;
  /** The upstream's port on 127.0.0.1. */
  upstreamPort: number;
  workerProcesses: number;
  /** Idle connections to the upstream each worker keeps (`keepalive`). */
  upstreamKeepalive: number;
}

/**
 * A reverse proxy as one would configure it in front of a Node service: HTTP/1.1 with pooled
 * keep-alive connections to the upstream, no access log, no connection limit per client connection
 * (keepalive_requests raised from 1000, as the gateway has none).
 */
export function nginxConfig(dir: string, options: NginxOptions): string {
  return `worker_processes ${options.workerProcesses};
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events {
  worker_connections 4096;
}
http {
  access_log off;
  client_body_temp_path ${join(dir, 'client_body')};
  proxy_temp_path ${join(dir, 'proxy')};
  fastcgi_temp_path ${join(dir, 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'uwsgi')};
  scgi_temp_path ${join(dir, 'scgi')};
  keepalive_timeout 65s;
  keepalive_requests 1000000;
  upstream users {
    server 127.0.0.1:${options.upstreamPort};
    keepalive ${options.upstreamKeepalive};
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${options.port};
    location / {
      proxy_pass http://users;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
    }
  }
}
`;
}

export interface Nginx {
  process: ChildProcess;
  dir: string;
  /** Stops it (SIGTERM, SIGKILL after 5 s) and removes its temp dir. */
  stop(): Promise<void>;
}

/** `nginx -c <conf> -g 'daemon off;'` in a fresh temp dir, as a child process (master + workers). */
export function startNginx(binary: string, options: NginxOptions): Nginx {
  const dir = mkdtempSync(join(tmpdir(), 'tenantry-bench-nginx-'));
  // Workers run as `nobody` when the master is root; let them reach their temp dirs.
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'logs'));
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, nginxConfig(dir, options));
  const child = spawn(binary, ['-p', dir, '-e', join(dir, 'error.log'), '-c', conf, '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return {
    process: child,
    dir,
    stop: async () => {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

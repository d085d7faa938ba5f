// The shipped front-proxy recipe (deploy/nginx/trustgate-front.conf) filled in and run by the real
// nginx (Debian package `nginx`) on a free loopback port, with its own prefix, pid, logs and
// temporary directories under a temp dir: nothing of the system's nginx is read or written.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, portOpen, startDaemon, waitFor, type Daemon } from './process.js';

export const FRONT_RECIPE = join(import.meta.dirname, '..', '..', 'deploy', 'nginx', 'trustgate-front.conf');

/** The repository-name grammar (distribution reference.go), for @DIRECT_REPOSITORIES@ patterns. */
export const NAME_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';

export interface FrontValues {
  /** trustgate's address, host:port. */
  readonly trustgate: string;
  /** The upstream registry's base URL (http or https). */
  readonly registry: string;
  /** The upstream's name in trustgate's configuration (plain; it is escaped here). */
  readonly upstreamName: string;
  /** The regular expression of repositories whose blobs go straight to the registry. */
  readonly directRepositories: string;
}

/** The recipe with every placeholder replaced; throws if one is left. */
export function renderFront(v: FrontValues, listen: string, accessLog: string): string {
  const registry = new URL(v.registry);
  const values: Record<string, string> = {
    LISTEN: listen,
    TRUSTGATE: v.trustgate,
    REGISTRY_SCHEME: registry.protocol.slice(0, -1),
    REGISTRY_HOST: registry.hostname,
    REGISTRY_PORT: registry.port || (registry.protocol === 'https:' ? '443' : '80'),
    UPSTREAM_NAME: v.upstreamName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    DIRECT_REPOSITORIES: v.directRepositories,
    ACCESS_LOG: accessLog,
  };
  const text = readFileSync(FRONT_RECIPE, 'utf8').replace(/@([A-Z_]+)@/g, (whole, name: string) => values[name] ?? whole);
  const left = /@[A-Z_]+@/.exec(text.split('\n').filter((l) => !l.trimStart().startsWith('#')).join('\n'));
  if (left) throw new Error(`placeholder ${left[0]} not filled in`);
  return text;
}

export interface LoggedRequest {
  readonly request: string;
  readonly status: number;
  readonly route: string;
  /** The servers nginx asked, in order (`$upstream_addr`: a fallback adds one). */
  readonly upstreams: string[];
}

export interface Front {
  readonly url: string;
  readonly port: number;
  readonly daemon: Daemon;
  /** The access log so far, one entry per request. */
  log(): LoggedRequest[];
  stop(): Promise<void>;
}

/** nginx with the rendered recipe included in a minimal main configuration of its own. */
export async function startFront(dir: string, v: FrontValues): Promise<Front> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const accessLog = join(dir, 'access.log');
  writeFileSync(join(dir, 'trustgate-front.conf'), renderFront(v, `127.0.0.1:${port}`, accessLog));
  writeFileSync(accessLog, '');
  const daemon = await startNginx(dir, `  include ${dir}/trustgate-front.conf;\n`, port, 'nginx (trustgate front)');
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    daemon,
    log: () => parseLog(readFileSync(accessLog, 'utf8')),
    stop: () => daemon.stop(),
  };
}

/**
 * A private nginx under `dir` (its pid, logs and temp files there) whose http block holds `http`;
 * resolves once it listens on `port`.
 */
export async function startNginx(dir: string, http: string, port: number, name = 'nginx'): Promise<Daemon> {
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
${http}}
`,
  );
  // -e: the error log from the first moment, before the configuration names one
  const daemon = startDaemon('nginx', nginxBinary(), ['-c', conf, '-p', dir, '-e', join(dir, 'error.log')], join(dir, 'stdout.log'));
  await waitFor(name, () => portOpen(port), 10_000, daemon);
  return daemon;
}

/** Debian installs nginx in /usr/sbin, which an unprivileged user's PATH may lack. */
function nginxBinary(): string {
  return existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';
}

function parseLog(text: string): LoggedRequest[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const m = /"([^"]*)" (\d+) \d+ route=(\S+) upstream=(.*) upstream_status=/.exec(line);
      if (!m) throw new Error(`unexpected access log line: ${line}`);
      return { request: m[1] as string, status: Number(m[2]), route: m[3] as string, upstreams: (m[4] as string).split(/, | : /) };
    });
}

// trustgate for tests: in-process (buildApp on a free port) or as a real `trustgate serve` process.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { pino } from 'pino';
import { openStores } from '../../src/cache/stores.js';
import { parseConfig } from '../../src/config/config.js';
import { buildApp, type TrustgateApp } from '../../src/server/app.js';
import { NODE_FLAGS } from '../../src/node-flags.js';
import { buildServices } from '../../src/server/services.js';
import { freePort, portOpen, startDaemon, waitFor, type Daemon } from './process.js';

export interface UpstreamSpec {
  name: string;
  registry: string;
  notary?: string;
  ca?: string; // path
  default?: boolean;
  offline?: { maxStaleness?: string };
  blobs?: 'stream' | 'redirect';
  usernameEnv?: string;
  passwordEnv?: string;
  allowedRealms?: string[];
  blobRedirectHosts?: string[];
}

export interface TrustgateSpec {
  upstreams: UpstreamSpec[];
  policy?: Record<string, unknown>[];
  /** A URL, or the `redis` mapping (sentinels, cluster, credentials, tls). */
  redis?: string | Record<string, unknown>;
  trust?: Record<string, unknown>;
  timeouts?: Record<string, string>;
  auth?: Record<string, unknown>;
  tls?: { cert: string; key: string };
  metrics?: Record<string, unknown>;
  env?: Record<string, string>;
}

export interface RunningTrustgate {
  readonly url: string;
  readonly port: number;
  readonly app?: TrustgateApp;
  stop(): Promise<void>;
}

export function configDoc(spec: TrustgateSpec, port: number): Record<string, unknown> {
  return {
    listen: `127.0.0.1:${port}`,
    ...(spec.redis ? { redis: spec.redis, redisPrefix: `t${port}:` } : {}),
    upstreams: spec.upstreams,
    policy: spec.policy ?? [{ match: '*', action: 'verify' }],
    trust: { refreshInterval: '10s', ...spec.trust },
    ...(spec.timeouts ? { timeouts: spec.timeouts } : {}),
    ...(spec.auth ? { auth: spec.auth } : {}),
    ...(spec.tls ? { tls: spec.tls } : {}),
    ...(spec.metrics ? { metrics: spec.metrics } : {}),
    log: { level: 'warn' },
  };
}

export interface InProcessOptions {
  redisPrefix?: string;
  /** The reference clock (epoch ms) for trust decisions: tests move it to expire trust data. */
  clock?: () => number;
  /** Receives every log line (JSON) the app writes. */
  logLines?: string[];
}

/** trustgate in this process, listening on a free loopback port, with the stores `serve` would use. */
export async function startInProcess(dir: string, spec: TrustgateSpec, opts: InProcessOptions | string = {}): Promise<RunningTrustgate> {
  const o = typeof opts === 'string' ? { redisPrefix: opts } : opts;
  const port = await freePort();
  const doc = configDoc(spec, port);
  if (o.redisPrefix && spec.redis) doc.redisPrefix = o.redisPrefix;
  const config = await parseConfig(doc, { env: { ...process.env, ...spec.env }, baseDir: dir });
  const lines = o.logLines;
  const logger = lines ? pino({ level: 'info' }, { write: (l: string) => void lines.push(l) }) : undefined;
  const stores = await openStores(config, logger);
  const app = await buildApp(buildServices(config, { stores, logger, clock: o.clock }));
  await app.app.listen({ host: '127.0.0.1', port });
  return {
    url: `${spec.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    app,
    stop: async () => {
      await app.app.close();
      await app.close();
      await stores.close();
    },
  };
}

export const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli.js');

/** `node dist/cli.js serve -c <file>` as a separate process. */
export async function startProcess(dir: string, spec: TrustgateSpec, redisPrefix?: string): Promise<RunningTrustgate & { daemon: Daemon }> {
  const port = await freePort();
  const doc = configDoc(spec, port);
  if (redisPrefix) doc.redisPrefix = redisPrefix;
  const cfg = join(dir, `trustgate-${port}.yaml`);
  writeFileSync(cfg, stringify(doc));
  return startWithConfig(dir, cfg, port, { ...process.env, ...spec.env }, Boolean(spec.tls));
}

/** `trustgate serve` on a configuration file already written (its listen port is `port`). */
export async function startWithConfig(dir: string, cfg: string, port: number, env: NodeJS.ProcessEnv = process.env, tls = false): Promise<RunningTrustgate & { daemon: Daemon }> {
  // launched as the bin and the container launch it (src/node-flags.ts)
  const daemon = startDaemon('trustgate', process.execPath, [...NODE_FLAGS, CLI, 'serve', '-c', cfg], join(dir, `trustgate-${port}.log`), { env });
  await waitFor('trustgate', () => portOpen(port), 20_000, daemon);
  return { url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`, port, daemon, stop: () => daemon.stop() };
}

// Real peers on free loopback ports: distribution (docker-registry 2.8), redis-server, and trustgate
// itself as a separate process.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, portOpen, startDaemon, waitFor, type Daemon } from './process.js';

export interface Peer {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
  readonly daemon: Daemon;
}

export interface RegistryOptions {
  /** `auth` section of distribution's config (htpasswd or token). */
  auth?: Record<string, unknown>;
}

export async function startRegistry(dir: string, o: RegistryOptions = {}): Promise<Peer> {
  const port = await freePort();
  const cfg = join(dir, `registry-${port}.yml`);
  const auth = o.auth ? `auth: ${JSON.stringify(o.auth)}\n` : '';
  writeFileSync(
    cfg,
    `version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: ${join(dir, `registry-data-${port}`)}}, delete: {enabled: true}}
http: {addr: 127.0.0.1:${port}}
${auth}`,
  );
  const daemon = startDaemon('docker-registry', 'docker-registry', ['serve', cfg], join(dir, `registry-${port}.log`));
  const url = `http://127.0.0.1:${port}`;
  await waitFor('registry', () => portOpen(port), 20_000, daemon);
  return { url, port, daemon, stop: () => daemon.stop() };
}

export async function startRedis(dir: string): Promise<Peer> {
  const port = await freePort();
  const daemon = startDaemon(
    'redis-server',
    'redis-server',
    ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'yes'],
    join(dir, `redis-${port}.log`),
  );
  await waitFor('redis', () => portOpen(port), 20_000, daemon);
  return { url: `redis://127.0.0.1:${port}/0`, port, daemon, stop: () => daemon.stop() };
}

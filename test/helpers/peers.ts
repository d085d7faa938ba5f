// Real peers on free loopback ports: distribution (docker-registry 2.8), redis-server, and trustgate
// itself as a separate process.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
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

/**
 * redis-server on a free port (or `port`, to restart one); `persist` keeps its data across restarts
 * (AOF); `args` are more redis-server options (e.g. `--enable-debug-command local` for DEBUG SLEEP).
 */
export async function startRedis(dir: string, o: { port?: number; persist?: boolean; args?: string[] } = {}): Promise<Peer> {
  const port = o.port ?? (await freePort());
  const daemon = startDaemon(
    'redis-server',
    'redis-server',
    ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', o.persist ? 'yes' : 'no', '--appendfilename', `aof-${port}`, '--dir', dir, '--protected-mode', 'yes', ...(o.args ?? [])],
    join(dir, `redis-${port}.log`),
  );
  await waitFor('redis', () => portOpen(port), 20_000, daemon);
  return { url: `redis://127.0.0.1:${port}/0`, port, daemon, stop: () => daemon.stop() };
}

/**
 * Stall a redis-server (started with `--enable-debug-command local`) for `seconds` with DEBUG SLEEP,
 * and resolve only once it is stalled: a PING from another connection goes unanswered for 150 ms.
 * Sending the command is not enough: a request another client sends a moment later can still be
 * served first (a new connection's handshake, or the server not yet scheduled on a busy machine).
 * `over` resolves when the server answers again.
 */
export async function stallRedis(url: string, seconds: number): Promise<{ over: Promise<unknown> }> {
  const admin = new Redis(url, { maxRetriesPerRequest: 0 });
  const probe = new Redis(url, { maxRetriesPerRequest: 0 });
  await Promise.all([admin.ping(), probe.ping()]);
  const over = admin.call('DEBUG', 'SLEEP', String(seconds)).finally(() => {
    admin.disconnect();
    probe.disconnect();
  });
  for (;;) {
    const answered = await Promise.race([probe.ping().then(() => true), sleep(150).then(() => false)]);
    if (!answered) return { over };
  }
}

/** A TCP forwarder as its own process: kill it to make the target unreachable, start it again on the same port. */
export async function startForwarder(dir: string, targetPort: number, port?: number): Promise<Peer> {
  const listen = port ?? (await freePort());
  const script = `const net=require('net');net.createServer(c=>{const u=net.connect(${targetPort},'127.0.0.1');c.on('error',()=>u.destroy());u.on('error',()=>c.destroy());c.pipe(u).pipe(c);}).listen(${listen},'127.0.0.1');`;
  const daemon = startDaemon('forwarder', process.execPath, ['-e', script], join(dir, `forwarder-${listen}.log`));
  await waitFor('forwarder', () => portOpen(listen), 10_000, daemon);
  return { url: `http://127.0.0.1:${listen}`, port: listen, daemon, stop: () => daemon.stop() };
}

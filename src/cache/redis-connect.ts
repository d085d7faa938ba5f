// The ioredis client for a `redis` configuration: standalone, Sentinel or Cluster, with credentials
// and TLS. ioredis does the distributed work (asks the sentinels for the current master, follows
// MOVED/ASK in a cluster, reconnects); trustgate only decides how long it waits.
//
// Commands fail fast while the store is away (no offline queue, no retries, a short command
// timeout): a pull never hangs on it. The client keeps reconnecting in the background.

import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { ConnectionOptions } from 'node:tls';
import { ConfigError } from '../errors.js';
import type { RedisConfig } from '../config/redis.js';

export type StoreClient = Redis | Cluster;

const COMMAND_TIMEOUT_MS = 2_000;
const CONNECT_TIMEOUT_MS = 2_000;
const retry = (times: number) => Math.min(100 * times, 1_000);

/** A client for `cfg` (a bare URL string is a standalone store). It connects in the background. */
export function connectStore(cfg: RedisConfig | string): StoreClient {
  const c = typeof cfg === 'string' ? bareUrl(cfg) : cfg;
  const tls: ConnectionOptions | undefined = c.tls ? { ...(c.caPem ? { ca: c.caPem } : {}) } : undefined;
  const node: RedisOptions = {
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectTimeout: CONNECT_TIMEOUT_MS,
    commandTimeout: COMMAND_TIMEOUT_MS,
    retryStrategy: retry,
    ...(c.username !== undefined ? { username: c.username } : {}),
    ...(c.password !== undefined ? { password: c.password } : {}),
    ...(tls ? { tls } : {}),
  };
  const t = c.topology;
  if (t.kind === 'standalone') return new Redis(t.url, node);
  if (t.kind === 'sentinel') {
    return new Redis({
      ...node,
      sentinels: t.sentinels.map((s) => ({ host: s.host, port: s.port })),
      name: t.name,
      sentinelCommandTimeout: COMMAND_TIMEOUT_MS,
      sentinelRetryStrategy: retry,
      ...(c.sentinelPassword !== undefined ? { sentinelPassword: c.sentinelPassword } : {}),
      ...(tls ? { enableTLSForSentinelMode: true, sentinelTLS: tls } : {}),
    });
  }
  const options: ClusterOptions = {
    redisOptions: node,
    enableOfflineQueue: false,
    clusterRetryStrategy: retry,
    slotsRefreshTimeout: CONNECT_TIMEOUT_MS,
    retryDelayOnFailover: 100,
    maxRedirections: 8,
  };
  return new Cluster(
    t.nodes.map((n) => ({ host: n.host, port: n.port })),
    options,
  );
}

function bareUrl(url: string): RedisConfig {
  return { topology: { kind: 'standalone', url }, tls: url.startsWith('rediss:'), waitReplicas: 0, describe: 'redis' };
}

/** Resolve when `client` is ready; reject after `timeoutMs` (the client keeps trying). */
export async function whenReady(client: StoreClient, timeoutMs: number, what: string): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${what} is not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      client.off('ready', onReady);
    };
    client.on('ready', onReady);
  });
}

/** The nodes that hold data: every master of a cluster, or the one connection. */
function dataNodes(client: StoreClient): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [client];
}

/**
 * Refuse a store that may evict trust keys. Trust keys carry no TTL, so `volatile-*` and
 * `noeviction` never drop them; `allkeys-*` may drop a root or a rollback floor under memory
 * pressure. Undefined when the policy cannot be read (CONFIG disabled, as on some hosted Redis).
 */
export async function evictionPolicy(client: StoreClient): Promise<string | undefined> {
  let seen: string | undefined;
  for (const node of dataNodes(client)) {
    let reply: unknown;
    try {
      reply = await node.config('GET', 'maxmemory-policy');
    } catch {
      continue; // CONFIG renamed or refused: nothing to learn from this node
    }
    const policy = Array.isArray(reply) ? String(reply[1] ?? '') : '';
    if (policy.startsWith('allkeys-')) return policy;
    seen ??= policy || undefined;
  }
  return seen;
}

export function assertEvictionPolicy(policy: string | undefined, describe: string): void {
  if (policy?.startsWith('allkeys-')) {
    throw new ConfigError(
      `${describe} has maxmemory-policy ${policy}: it may evict trusted roots and rollback floors; use noeviction or a volatile-* policy`,
    );
  }
}

/**
 * Wait until `replicas` replicas acknowledged this connection's writes (Redis WAIT), up to
 * `timeoutMs`; the number that did. In a cluster the write went to the slot's master, which WAIT
 * cannot address here: the count is then 0 (see the README for what a cluster guarantees).
 */
export async function waitForReplicas(client: StoreClient, replicas: number, timeoutMs: number): Promise<number> {
  if (replicas <= 0) return replicas;
  if (client instanceof Cluster) return 0;
  return Number(await client.wait(replicas, timeoutMs));
}

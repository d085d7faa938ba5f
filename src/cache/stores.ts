// The stores a configuration asks for: in-process (or the `trust.bundles` directory), or the shared
// Redis store with this replica's memory beside it. trustgate starts without Redis too; until the
// store answers, only repositories this process remembers are served (none, just after start).

import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { RedisConfig } from '../config/redis.js';
import { DirectoryTrustStore } from './directory-store.js';
import { RedisHealth } from './health.js';
import { assertEvictionPolicy, connectStore, evictionPolicy, whenReady } from './redis-connect.js';
import { RedisResultCache, RedisTrustStore } from './redis.js';
import { ResilientResultCache } from './resilient-results.js';
import { ResilientTrustStore, type TrustStateEvent } from './resilient.js';
import { MemoryResultCache, type ResultCache } from './results.js';
import { MemoryTrustStore, type TrustStore } from './trust-store.js';

export interface Stores {
  readonly trustStore: TrustStore;
  readonly results: ResultCache;
  /** Readiness of the shared store, when there is one. */
  readonly check?: () => Promise<void>;
  readonly health?: RedisHealth;
  /** The shared trust state, when there is one (metrics: data loss). */
  readonly shared?: ResilientTrustStore;
  close(): Promise<void>;
}

const READY_WAIT_MS = 5_000;

/** In-process stores (tests, `check`, the default without Redis). */
export function memoryStores(memoryCacheMaxBytes?: number): Stores {
  return { trustStore: new MemoryTrustStore(), results: new MemoryResultCache(memoryCacheMaxBytes), close: async () => {} };
}

export async function openStores(config: Config, logger?: Logger): Promise<Stores> {
  const cfg = config.redis;
  if (cfg) return redisStores(config, cfg, logger);
  if (!config.trust.bundlesDir) return memoryStores(config.limits.memoryCacheMaxBytes);
  // with `trust.bundles`, imported trust data lives in that directory (read on every refresh)
  const trustStore = new DirectoryTrustStore(config.trust.bundlesDir);
  await trustStore.check(); // a directory others could write (or a damaged one) stops the start, with the fix
  const results = new MemoryResultCache(config.limits.memoryCacheMaxBytes);
  return { trustStore, results, close: async () => {} };
}

/** Redis with this replica's memory beside it; refuses to start on a store that may evict trust keys. */
async function redisStores(config: Config, cfg: RedisConfig, logger?: Logger): Promise<Stores> {
  const client = connectStore(cfg);
  const log = { store: cfg.describe };
  const checkPolicy = async () => {
    const policy = await evictionPolicy(client);
    if (policy?.startsWith('allkeys-')) logger?.error({ ...log, policy }, 'maxmemory-policy may evict trusted roots and floors: use noeviction or volatile-*');
    return policy;
  };
  let trust: ResilientTrustStore | undefined;
  const health = new RedisHealth(client, cfg.describe, {
    onDown: (err) => logger?.warn({ ...log, err: errText(err) }, 'redis unreachable: only repositories this replica remembers are served, from its memory'),
    onUp: () => {
      logger?.info(log, 'redis reachable again: using the shared store');
      void checkPolicy().then(() => trust?.recovered());
    },
  });
  const shared = new RedisTrustStore(client, config.redisPrefix, {
    waitReplicas: cfg.waitReplicas,
    describe: cfg.describe,
    onUnacknowledged: (gun, role, acks) => {
      trust?.unacknowledged(gun);
      logger?.warn({ ...log, gun, role, acks, wanted: cfg.waitReplicas }, 'trust write not acknowledged by enough replicas: this replica writes it back if a failover loses it');
    },
  });
  trust = new ResilientTrustStore(shared, health, { onEvent: (e) => logEvent(logger, cfg.describe, e) });
  await whenReady(client, READY_WAIT_MS, cfg.describe).then(
    () => checkPolicy().then((policy) => assertEvictionPolicy(policy, cfg.describe)),
    (err: unknown) => health.markDown(err), // trustgate starts without Redis, and serves nothing new
  ).catch((err: unknown) => {
    client.disconnect();
    throw err;
  });
  trust.start();
  const results = new RedisResultCache(client, config.redisPrefix);
  const store = trust;
  return {
    trustStore: store,
    results: new ResilientResultCache(results, health, config.limits.memoryCacheMaxBytes),
    health,
    shared: store,
    check: async () => void (await client.ping()),
    close: async () => {
      await store.close();
      await results.close();
    },
  };
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function logEvent(logger: Logger | undefined, store: string, e: TrustStateEvent): void {
  if (!logger) return;
  if (e.type === 'store-data-loss') logger.error({ store, event: e.type, gun: e.gun, reason: e.reason }, 'the shared store lost trust data: writing back what this replica knows');
  else if (e.type === 'store-root-conflict') logger.error({ store, event: e.type, gun: e.gun, reason: e.reason }, 'the shared store holds another root than this replica trusts');
  else if (e.type === 'store-write-back') logger.warn({ store, event: e.type, repositories: e.repositories }, 'wrote back roots and floors');
  else logger.warn({ store, event: e.type, gun: e.gun, err: errText(e.err) }, 'write-back failed: retried when the store answers');
}

// The stores a configuration asks for: in-process, the `trust.bundles` directory, or Redis with the
// in-process stores underneath (used while Redis is unreachable, at start-up too: trustgate starts and
// serves without it).

import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { DirectoryTrustStore } from './directory-store.js';
import { connectRedis, RedisResultCache, RedisTrustStore, whenReady } from './redis.js';
import { RedisHealth, ResilientResultCache, ResilientTrustStore } from './resilient.js';
import { MemoryResultCache, type ResultCache } from './results.js';
import { MemoryTrustStore, type TrustStore } from './trust-store.js';

export interface Stores {
  readonly trustStore: TrustStore;
  readonly results: ResultCache;
  /** Readiness of the shared store, when there is one. */
  readonly check?: () => Promise<void>;
  readonly health?: RedisHealth;
  close(): Promise<void>;
}

/** In-process stores (tests, `check`, the default without Redis). */
export function memoryStores(memoryCacheMaxBytes?: number): Stores {
  return { trustStore: new MemoryTrustStore(), results: new MemoryResultCache(memoryCacheMaxBytes), close: async () => {} };
}

export async function openStores(config: Config, logger?: Logger): Promise<Stores> {
  if (!config.redis) {
    if (!config.trust.bundlesDir) return memoryStores(config.limits.memoryCacheMaxBytes);
    // with `trust.bundles`, imported trust data lives in that directory (read on every refresh)
    const trustStore = new DirectoryTrustStore(config.trust.bundlesDir);
    await trustStore.check(); // a directory others could write (or a damaged one) stops the start, with the fix
    const results = new MemoryResultCache(config.limits.memoryCacheMaxBytes);
    return { trustStore, results, close: async () => {} };
  }
  const redis = connectRedis(config.redis);
  const health = new RedisHealth(redis, {
    onDown: (err) => logger?.warn({ err: err instanceof Error ? err.message : String(err) }, 'redis unreachable: serving from the in-process cache'),
    onUp: () => logger?.info('redis reachable again: using the shared store'),
  });
  await whenReady(redis, 2_000, config.redis).catch((err: unknown) => health.markDown(err));
  const results = new RedisResultCache(redis, config.redisPrefix);
  return {
    trustStore: new ResilientTrustStore(new RedisTrustStore(redis, config.redisPrefix), health),
    results: new ResilientResultCache(results, health, config.limits.memoryCacheMaxBytes),
    health,
    check: async () => {
      await redis.ping();
    },
    close: () => results.close(),
  };
}

// Verified results in Redis, with an in-process copy under them: while Redis is unreachable, answers
// come from (and go to) this process's memory; no request waits on a Redis that is away.

import type { RedisHealth } from './health.js';
import { MemoryResultCache, type CachedManifest, type ResultCache } from './results.js';

export class ResilientResultCache implements ResultCache {
  private readonly memory: MemoryResultCache;

  constructor(
    private readonly redis: ResultCache,
    private readonly health: RedisHealth,
    memoryMaxBytes?: number,
  ) {
    this.memory = new MemoryResultCache(memoryMaxBytes);
  }

  async getManifest(digest: string): Promise<CachedManifest | undefined> {
    return (
      (await this.memory.getManifest(digest)) ??
      this.health.use(
        () => this.redis.getManifest(digest),
        async () => undefined,
      )
    );
  }

  async putManifest(digest: string, manifest: CachedManifest): Promise<void> {
    await this.memory.putManifest(digest, manifest);
    await this.health.write(() => this.redis.putManifest(digest, manifest));
  }

  async addParentHint(gun: string, parent: string, children: readonly string[], ttlMs: number): Promise<void> {
    await this.memory.addParentHint(gun, parent, children, ttlMs);
    await this.health.write(() => this.redis.addParentHint(gun, parent, children, ttlMs));
  }

  async parentHints(gun: string, child: string): Promise<string[]> {
    const local = await this.memory.parentHints(gun, child);
    const shared = await this.health.use(
      () => this.redis.parentHints(gun, child),
      async () => [],
    );
    return [...new Set([...local, ...shared])];
  }

  async close(): Promise<void> {
    await this.redis.close();
  }
}

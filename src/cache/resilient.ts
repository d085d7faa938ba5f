// Redis, with the in-process stores as the floor under it: while Redis is unreachable trustgate keeps
// serving from (and writing to) its own memory, and goes back to Redis as soon as it is ready again.
// No request waits on a Redis that is away: commands fail fast (no offline queue), and after a
// failure Redis is skipped until the client reports ready.

import type { Redis, Cluster } from 'ioredis';
import { MemoryResultCache, type CachedManifest, type ResultCache } from './results.js';
import { MemoryTrustStore, type TrustStore } from './trust-store.js';

export interface RedisHealthEvents {
  onDown?(err: unknown): void;
  onUp?(): void;
}

/** Whether Redis is usable now, from the client's events and from command failures. */
export class RedisHealth {
  private upNow: boolean;
  errors = 0;

  constructor(
    readonly client: Redis | Cluster,
    private readonly events: RedisHealthEvents = {},
  ) {
    this.upNow = client.status === 'ready';
    client.on('ready', () => this.markUp());
    client.on('close', () => this.markDown(new Error('connection closed')));
    client.on('error', () => {
      /* reported through markDown on close and on failed commands */
    });
  }

  get up(): boolean {
    return this.upNow;
  }

  markDown(err: unknown): void {
    this.errors++;
    if (!this.upNow) return;
    this.upNow = false;
    this.events.onDown?.(err);
  }

  private markUp(): void {
    if (this.upNow) return;
    this.upNow = true;
    this.events.onUp?.();
  }

  /** Run `op` on Redis if it is up; on failure (or while down) run `fallback`. */
  async use<T>(op: () => Promise<T>, fallback: () => Promise<T>): Promise<T> {
    if (!this.upNow) return fallback();
    try {
      return await op();
    } catch (err) {
      this.markDown(err);
      return fallback();
    }
  }

  /** Best-effort write to Redis (the in-process copy is already written). */
  async write(op: () => Promise<unknown>): Promise<void> {
    if (!this.upNow) return;
    try {
      await op();
    } catch (err) {
      this.markDown(err);
    }
  }
}

export class ResilientTrustStore implements TrustStore {
  private readonly memory = new MemoryTrustStore();

  constructor(
    private readonly redis: TrustStore,
    private readonly health: RedisHealth,
  ) {}

  async getMetadata(gun: string, role: string): Promise<Buffer | undefined> {
    return this.health.use(
      async () => (await this.redis.getMetadata(gun, role)) ?? (await this.memory.getMetadata(gun, role)),
      () => this.memory.getMetadata(gun, role),
    );
  }

  async putMetadata(gun: string, role: string, bytes: Buffer, version: number): Promise<void> {
    await this.memory.putMetadata(gun, role, bytes, version);
    await this.health.write(() => this.redis.putMetadata(gun, role, bytes, version));
  }

  /** The higher of both floors: the rollback memory is never lowered by switching stores. */
  async getVersions(gun: string): Promise<Map<string, number>> {
    const local = await this.memory.getVersions(gun);
    const shared = await this.health.use(
      () => this.redis.getVersions(gun),
      async () => new Map<string, number>(),
    );
    for (const [role, v] of shared) if ((local.get(role) ?? 0) < v) local.set(role, v);
    return local;
  }

  async close(): Promise<void> {
    await this.redis.close();
  }
}

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

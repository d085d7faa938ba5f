// The shared store: trust metadata, rollback memory and verified results in Redis (ioredis:
// standalone, Sentinel or Cluster), so every replica has one view and one rollback memory.
//
// Keys carry the GUN in a hash tag ({…}) so each repository's keys live in one Cluster slot and the
// metadata write plus version bump is one atomic script.

import { Redis, type Cluster } from 'ioredis';
import { MAX_PARENT_HINTS, type CachedManifest, type ResultCache } from './results.js';
import type { TrustStore } from './trust-store.js';

type Client = Redis | Cluster;

// Store the bytes and raise the floor only if the version is not below the floor: a slower replica
// never overwrites newer trust data with older.
const PUT_METADATA = `
local cur = tonumber(redis.call('HGET', KEYS[2], ARGV[2]) or '0')
local v = tonumber(ARGV[3])
if v < cur then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 1
`;

// Note a parent index for each child, scored by how long its trust lasts; drop expired ones, keep the
// set no longer than its longest-lived member, and no more than the newest few parents per child.
const ADD_PARENT_HINT = `
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], 'GT', ARGV[1], ARGV[3])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', ARGV[2])
  redis.call('ZREMRANGEBYRANK', KEYS[i], 0, -tonumber(ARGV[4]) - 1)
  local ttl = redis.call('PTTL', KEYS[i])
  local want = tonumber(ARGV[1]) - tonumber(ARGV[2])
  if ttl < want then redis.call('PEXPIRE', KEYS[i], want) end
end
return 1
`;

const MANIFEST_TTL_S = 7 * 24 * 3600;

// Commands fail fast while Redis is away (no offline queue, no retries, a short command timeout): a
// pull never hangs on it. The client keeps reconnecting in the background.
export function connectRedis(url: string): Redis {
  return new Redis(url, {
    lazyConnect: false,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectTimeout: 2_000,
    commandTimeout: 1_000,
    retryStrategy: (times) => Math.min(100 * times, 2_000),
  });
}

/** Connect and wait until Redis is ready (or `timeoutMs` passes). */
export async function openRedis(url: string, timeoutMs = 5_000): Promise<Redis> {
  const client = connectRedis(url);
  await whenReady(client, timeoutMs, url).catch((err: unknown) => {
    client.disconnect();
    throw err;
  });
  return client;
}

/** Resolve when `client` is ready; reject after `timeoutMs` (the client keeps trying). */
export async function whenReady(client: Redis, timeoutMs: number, url: string): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis at ${url.replace(/\/\/[^@]*@/, '//')} is not ready after ${timeoutMs} ms`));
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

export class RedisTrustStore implements TrustStore {
  constructor(
    private readonly redis: Client,
    private readonly prefix = 'trustgate:',
  ) {}

  private metaKey(gun: string, role: string): string {
    return `${this.prefix}{${gun}}:meta:${role}`;
  }

  private versionsKey(gun: string): string {
    return `${this.prefix}{${gun}}:versions`;
  }

  async getMetadata(gun: string, role: string): Promise<Buffer | undefined> {
    return (await this.redis.getBuffer(this.metaKey(gun, role))) ?? undefined;
  }

  async putMetadata(gun: string, role: string, bytes: Buffer, version: number): Promise<void> {
    await this.redis.eval(PUT_METADATA, 2, this.metaKey(gun, role), this.versionsKey(gun), bytes, role, String(version));
  }

  async getVersions(gun: string): Promise<Map<string, number>> {
    const h = await this.redis.hgetall(this.versionsKey(gun));
    return new Map(Object.entries(h).map(([role, v]) => [role, Number(v)]));
  }

  async close(): Promise<void> {
    // the shared connection is closed by its owner (RedisResultCache.close or serve shutdown)
  }
}

export class RedisResultCache implements ResultCache {
  constructor(
    private readonly redis: Client,
    private readonly prefix = 'trustgate:',
    private readonly now: () => number = Date.now,
  ) {}

  private parentsKey(gun: string, child: string): string {
    return `${this.prefix}{${gun}}:parents:${child}`;
  }

  async getManifest(digest: string): Promise<CachedManifest | undefined> {
    const [type, body] = await this.redis.hmgetBuffer(`${this.prefix}manifest:${digest}`, 'type', 'body');
    return type && body ? { mediaType: type.toString('utf8'), body } : undefined;
  }

  async putManifest(digest: string, m: CachedManifest): Promise<void> {
    const key = `${this.prefix}manifest:${digest}`;
    await this.redis.multi().hset(key, 'type', m.mediaType, 'body', m.body).expire(key, MANIFEST_TTL_S).exec();
  }

  async addParentHint(gun: string, parent: string, children: readonly string[], ttlMs: number): Promise<void> {
    if (children.length === 0) return;
    const now = this.now();
    const until = now + Math.max(1, Math.floor(ttlMs));
    const keys = children.map((c) => this.parentsKey(gun, c));
    // one slot per repository ({gun} hash tag): a multi-key script is valid on a Cluster
    await this.redis.eval(ADD_PARENT_HINT, keys.length, ...keys, String(until), String(now), parent, String(MAX_PARENT_HINTS));
  }

  async parentHints(gun: string, child: string): Promise<string[]> {
    return this.redis.zrangebyscore(this.parentsKey(gun, child), `(${this.now()}`, '+inf', 'LIMIT', 0, MAX_PARENT_HINTS);
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

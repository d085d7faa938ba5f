// The shared store: trust metadata, rollback memory and verified results in Redis (ioredis:
// standalone, Sentinel or Cluster), so every replica has one view and one rollback memory.
//
// Keys carry the GUN in a hash tag ({…}) so each repository's keys live in one Cluster slot and every
// write (bytes + floor, root + floor resets) is one atomic script. Trust keys carry no TTL.
// Everything read back is untrusted: the trust engine verifies it again before use.

import type { Redis } from 'ioredis';
import type { RedisConfig } from '../config/redis.js';
import { StoreUnavailableError } from '../errors.js';
import { connectStore, waitForReplicas, whenReady, type StoreClient } from './redis-connect.js';
import { MAX_PARENT_HINTS, type CachedManifest, type ResultCache } from './results.js';
import { ROOT } from '../trust/metadata.js';
import type { TrustStore } from './trust-store.js';

// Bytes + floor: a version below the floor changes nothing (a slower replica never overwrites newer
// trust data with older); the same version re-stores the bytes (a delegation left out is kept as the
// snapshot names it) without touching the floor; a first version, even 0, is a floor. Returns 1 when
// something changed.
const PUT_METADATA = `
local had = redis.call('HGET', KEYS[2], ARGV[2])
local cur = tonumber(had or '0')
local v = tonumber(ARGV[3])
if v < cur then return 0 end
if had and v == cur and redis.call('GET', KEYS[1]) == ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
if v > cur or not had then redis.call('HSET', KEYS[2], ARGV[2], ARGV[3]) end
return 1
`;

// The root: a first root (TOFU) or a newer one (rotation) is stored; another root of the same version
// is a conflict and never overwrites (-1). Replacing an older root drops the floors of the roles
// whose keys rotated (ARGV[3..]) in the same step. Returns 1 when stored, 0 when not newer.
const PUT_ROOT = `
local cur = tonumber(redis.call('HGET', KEYS[2], 'root') or '0')
local v = tonumber(ARGV[2])
if v < cur then return 0 end
local held = redis.call('GET', KEYS[1])
if v == cur and held then
  if held == ARGV[1] then return 0 end
  return -1
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], 'root', ARGV[2])
if cur > 0 and v > cur then for i = 3, #ARGV do redis.call('HDEL', KEYS[2], ARGV[i]) end end
return 1
`;

// The store's epoch: created once ("<id>:<server ms>") and never rewritten, so its disappearance or
// a different id means the store lost its data. Returns it with the server's clock.
const EPOCH = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local e = redis.call('GET', KEYS[1])
if not e then
  e = ARGV[1] .. ':' .. now
  redis.call('SET', KEYS[1], e)
end
return {e, tostring(now)}
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
const WAIT_TIMEOUT_MS = 500;

/** Connect and wait until the store is ready (or `timeoutMs` passes). */
export async function openRedis(cfg: string, timeoutMs?: number): Promise<Redis>;
export async function openRedis(cfg: RedisConfig | string, timeoutMs?: number): Promise<StoreClient>;
export async function openRedis(cfg: RedisConfig | string, timeoutMs = 5_000): Promise<StoreClient> {
  const client = connectStore(cfg);
  const what = typeof cfg === 'string' ? 'Redis' : cfg.describe;
  await whenReady(client, timeoutMs, what).catch((err: unknown) => {
    client.disconnect();
    throw err;
  });
  return client;
}

/** A repository's root and floors, read in one atomic step. */
export interface StoredState {
  readonly root: Buffer | undefined;
  readonly versions: Map<string, number>;
}

export interface RedisTrustStoreOptions {
  /** Replica acknowledgments awaited after a write that trusts a root or raises a floor. */
  readonly waitReplicas?: number;
  /** A write that fewer replicas than asked acknowledged (it may not survive a failover). */
  readonly onUnacknowledged?: (gun: string, role: string, acks: number) => void;
  /** Names the store in errors. */
  readonly describe?: string;
}

export class RedisTrustStore implements TrustStore {
  constructor(
    private readonly redis: StoreClient,
    private readonly prefix = 'trustgate:',
    private readonly opts: RedisTrustStoreOptions = {},
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

  async putMetadata(gun: string, role: string, bytes: Buffer, version: number, resetFloors: readonly string[] = []): Promise<void> {
    const keys = [this.metaKey(gun, role), this.versionsKey(gun)];
    const changed =
      role === ROOT
        ? Number(await this.redis.eval(PUT_ROOT, 2, ...keys, bytes, String(version), ...resetFloors))
        : Number(await this.redis.eval(PUT_METADATA, 2, ...keys, bytes, role, String(version)));
    if (changed < 0) {
      throw new StoreUnavailableError(
        this.opts.describe ?? 'redis',
        `a different root version ${version} of ${gun} is already stored (trusted at the same moment by another replica): not replaced`,
      );
    }
    if (changed > 0) await this.acknowledge(gun, role);
  }

  async getVersions(gun: string): Promise<Map<string, number>> {
    return parseVersions(await this.redis.hgetall(this.versionsKey(gun)));
  }

  /** The root and the floors as one atomic read (MULTI: both keys are in the GUN's slot). */
  async readState(gun: string): Promise<StoredState> {
    const replies = await this.redis.multi().getBuffer(this.metaKey(gun, ROOT)).hgetall(this.versionsKey(gun)).exec();
    if (!replies) throw new StoreUnavailableError(this.opts.describe ?? 'redis', 'transaction aborted');
    for (const [err] of replies) if (err) throw err;
    const [[, root], [, versions]] = replies as [[null, Buffer | null], [null, Record<string, string>]];
    return { root: root ?? undefined, versions: parseVersions(versions) };
  }

  /** The store's epoch (created as `candidateId` if absent) and the server's clock (ms). */
  async epoch(candidateId: string): Promise<{ id: string; since: number; serverNow: number }> {
    const [value, now] = (await this.redis.eval(EPOCH, 1, `${this.prefix}epoch`, candidateId)) as [string, string];
    const at = value.lastIndexOf(':');
    return { id: value.slice(0, at), since: Number(value.slice(at + 1)), serverNow: Number(now) };
  }

  private async acknowledge(gun: string, role: string): Promise<void> {
    const want = this.opts.waitReplicas ?? 0;
    if (want <= 0) return;
    const acks = await waitForReplicas(this.redis, want, WAIT_TIMEOUT_MS);
    if (acks < want) this.opts.onUnacknowledged?.(gun, role, acks);
  }

  async close(): Promise<void> {
    // the shared connection is closed by its owner (RedisResultCache.close or serve shutdown)
  }
}

function parseVersions(h: Record<string, string>): Map<string, number> {
  return new Map(Object.entries(h).map(([role, v]) => [role, Number(v)]));
}

export class RedisResultCache implements ResultCache {
  constructor(
    private readonly redis: StoreClient,
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

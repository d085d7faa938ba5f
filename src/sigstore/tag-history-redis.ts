// The tag rollback memory in Redis, shared by every replica: one hash per tag (newest digest `d`, its
// signing time `o`, superseded digests `s`), changed only by scripts that apply tag-history.ts's rule
// atomically, so two replicas serving a tag at once cannot both move it. Keys carry the GUN in a hash
// tag ({…}), as the trust store's do, so a Cluster keeps a repository on one slot.

import type { Cluster, Redis } from 'ioredis';
import type { RedisHealth } from '../cache/resilient.js';
import { MemoryTagHistory, SUPERSEDED_MAX, type Advance, type TagHistoryStore, type TagRecord, type TagState } from './tag-history.js';

// decideAdvance, in Lua: same digest → keep (raise its time); both times known and different → compare;
// otherwise a digest the tag already moved away from is older.
const ADVANCE = `
local d = redis.call('HGET', KEYS[1], 'd')
local cand, corder, max = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
if not d then
  redis.call('HSET', KEYS[1], 'd', cand, 'o', ARGV[2], 's', '')
  return {1}
end
local ostr = redis.call('HGET', KEYS[1], 'o') or ''
local o = tonumber(ostr)
local s = redis.call('HGET', KEYS[1], 's') or ''
if cand == d then
  if corder and (not o or corder > o) then redis.call('HSET', KEYS[1], 'o', ARGV[2]) end
  return {1}
end
local older
if corder and o and corder ~= o then older = corder < o else older = string.find(' ' .. s .. ' ', ' ' .. cand .. ' ', 1, true) ~= nil end
if older then return {0, d, ostr} end
local list = {}
for x in string.gmatch(s, '%S+') do if x ~= cand and x ~= d then list[#list + 1] = x end end
list[#list + 1] = d
while #list > max do table.remove(list, 1) end
redis.call('HSET', KEYS[1], 'd', cand, 'o', ARGV[2], 's', table.concat(list, ' '))
return {1}
`;

// resetState, in Lua: the operator's digest becomes the newest, without a signing time.
const RESET = `
local d = redis.call('HGET', KEYS[1], 'd')
local s = redis.call('HGET', KEYS[1], 's') or ''
local list = {}
for x in string.gmatch(s, '%S+') do if x ~= ARGV[1] then list[#list + 1] = x end end
if d and d ~= ARGV[1] then list[#list + 1] = d end
while #list > tonumber(ARGV[2]) do table.remove(list, 1) end
redis.call('HSET', KEYS[1], 'd', ARGV[1], 'o', '', 's', table.concat(list, ' '))
return 1
`;

export class RedisTagHistory implements TagHistoryStore {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix = 'trustgate:',
  ) {}

  private key(gun: string, tag: string): string {
    return `${this.prefix}{${gun}}:sigstore-tag:${tag}`;
  }

  async advance(gun: string, tag: string, candidate: TagRecord): Promise<Advance> {
    const order = candidate.order === undefined ? '' : String(Math.floor(candidate.order));
    const r = (await this.redis.eval(ADVANCE, 1, this.key(gun, tag), candidate.digest, order, String(SUPERSEDED_MAX))) as [number, string?, string?];
    if (r[0] === 1) return { accepted: true };
    return { accepted: false, newest: { digest: r[1] ?? '', order: orderOf(r[2]) } };
  }

  async get(gun: string, tag: string): Promise<TagState | undefined> {
    const h = await this.redis.hgetall(this.key(gun, tag));
    if (h.d === undefined) return undefined;
    return { newest: { digest: h.d, order: orderOf(h.o) }, superseded: (h.s ?? '').split(' ').filter(Boolean) };
  }

  async reset(gun: string, tag: string, digest?: string): Promise<void> {
    if (digest === undefined) await this.redis.del(this.key(gun, tag));
    else await this.redis.eval(RESET, 1, this.key(gun, tag), digest, String(SUPERSEDED_MAX));
  }
}

function orderOf(v: string | undefined): number | undefined {
  return v === undefined || v === '' ? undefined : Number(v);
}

/**
 * Redis with an in-process memory under it (cache/resilient.ts's rule): Redis decides while it is up
 * (so an operator's accept-tag reaches every replica) and each accepted digest is mirrored locally;
 * while Redis is unreachable a replica decides from its own memory, so pulls go on, and a rollback
 * attempted during an outage is refused if this replica saw the newer digest.
 */
export class ResilientTagHistory implements TagHistoryStore {
  private readonly memory = new MemoryTagHistory();

  constructor(
    private readonly redis: TagHistoryStore,
    private readonly health: RedisHealth,
  ) {}

  advance(gun: string, tag: string, candidate: TagRecord): Promise<Advance> {
    return this.health.use(
      async () => {
        const shared = await this.redis.advance(gun, tag, candidate);
        if (shared.accepted) {
          await this.memory.reset(gun, tag, candidate.digest);
          await this.memory.advance(gun, tag, candidate);
        }
        return shared;
      },
      () => this.memory.advance(gun, tag, candidate),
    );
  }

  get(gun: string, tag: string): Promise<TagState | undefined> {
    return this.health.use(() => this.redis.get(gun, tag), () => this.memory.get(gun, tag));
  }

  async reset(gun: string, tag: string, digest?: string): Promise<void> {
    await this.memory.reset(gun, tag, digest);
    await this.health.write(() => this.redis.reset(gun, tag, digest));
  }
}

// The shared trust state under store faults, against a real redis-server that is stopped, stalled
// (DEBUG SLEEP), flushed, restarted empty, or left holding part of a repository: no first contact on
// an answer that is not authoritative, a remembered repository goes on from memory, and what the
// store lost is written back (roots and floors only go up).

import t, { type Test } from 'tap';
import { Redis } from 'ioredis';
import { RedisHealth } from '../../src/cache/health.js';
import { openRedis, RedisTrustStore } from '../../src/cache/redis.js';
import { ResilientTrustStore, type TrustStateEvent } from '../../src/cache/resilient.js';
import { openStores } from '../../src/cache/stores.js';
import { parseConfig } from '../../src/config/config.js';
import { ConfigError, StoreUnavailableError } from '../../src/errors.js';
import { stallRedis, startRedis, type Peer } from '../helpers/peers.js';
import { tempDir } from '../helpers/process.js';

const dir = tempDir('resilient');
t.teardown(dir.remove);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const GUN = 'docker.io/library/remembered';
const OTHER = 'docker.io/library/never-seen';

interface Replica {
  trust: ResilientTrustStore;
  health: RedisHealth;
  events: TrustStateEvent[];
}

/** One replica's stores, wired as openStores wires them (short epoch interval and window). */
async function replica(t: Test, url: string, prefix: string, windowMs = 300): Promise<Replica> {
  const client = await openRedis(url).catch(() => new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 0, enableOfflineQueue: false, commandTimeout: 1000 }));
  const events: TrustStateEvent[] = [];
  let trust: ResilientTrustStore | undefined;
  const health = new RedisHealth(client, url, { onUp: () => void trust?.recovered() });
  trust = new ResilientTrustStore(new RedisTrustStore(client, prefix), health, { epochIntervalMs: 100, epochWindowMs: windowMs, onEvent: (e) => events.push(e) });
  trust.start();
  t.teardown(async () => {
    await trust.close();
    client.disconnect();
  });
  return { trust, health, events };
}

/** What a replica does when it trusts a repository: root, then verified files raising floors. */
async function remember(r: Replica, gun: string): Promise<void> {
  await r.trust.putMetadata(gun, 'root', Buffer.from(`root of ${gun}`), 2);
  await r.trust.putMetadata(gun, 'timestamp', Buffer.from('ts 9'), 9);
  await r.trust.putMetadata(gun, 'snapshot', Buffer.from('sn 4'), 4);
  await r.trust.putMetadata(gun, 'targets/releases', Buffer.from('rel 3'), 3);
}

async function until(what: string, probe: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting until ${what}`);
}

async function raw(t: Test, redis: Peer): Promise<Redis> {
  const c = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  t.teardown(() => c.disconnect());
  return c;
}

t.test('a store that does not answer: no first contact; a remembered repository goes on from memory; written back after', async (t) => {
  let redis = await startRedis(dir.path);
  t.teardown(() => redis.stop());
  const a = await replica(t, redis.url, 'down:');
  await remember(a, GUN);
  await redis.stop();

  t.same(Object.fromEntries(await a.trust.getVersions(GUN)), { root: 2, timestamp: 9, snapshot: 4, 'targets/releases': 3 }, 'its own floors');
  t.same(await a.trust.getMetadata(GUN, 'root'), Buffer.from(`root of ${GUN}`), 'its own root');
  await t.rejects(a.trust.getVersions(OTHER), StoreUnavailableError, 'a repository it never saw: refused, not started over');
  await t.rejects(a.trust.getMetadata(OTHER, 'root'), { code: 'STORE_UNAVAILABLE' });
  const fresh = await replica(t, redis.url, 'down:');
  await t.rejects(fresh.trust.getMetadata(GUN, 'root'), StoreUnavailableError, 'a replica that started without the store bootstraps nothing');
  await a.trust.putMetadata(GUN, 'timestamp', Buffer.from('ts 10'), 10); // kept in memory meanwhile

  redis = await startRedis(dir.path, { port: redis.port }); // back, and empty
  const c = await raw(t, redis);
  const sorted = (o: Record<string, string>) => JSON.stringify(Object.entries(o).sort());
  const expected = sorted({ root: '2', timestamp: '10', snapshot: '4', 'targets/releases': '3' });
  await until('the root and floors are written back', async () => sorted(await c.hgetall(`down:{${GUN}}:versions`)) === expected);
  t.equal((await c.getBuffer(`down:{${GUN}}:meta:root`))?.toString(), `root of ${GUN}`);
  t.ok(a.trust.dataLoss >= 1, 'the loss is counted');
  t.ok(a.events.some((e) => e.type === 'store-data-loss'), 'and reported');
});

t.test('stalled by DEBUG SLEEP: refused while stalled; healthy again on the next successful command, without a reconnect', async (t) => {
  const redis = await startRedis(dir.path, { args: ['--enable-debug-command', 'local'] });
  t.teardown(redis.stop);
  const a = await replica(t, redis.url, 'stall:', 0);
  await remember(a, GUN);
  let reconnects = 0;
  a.health.client.on('reconnecting', () => reconnects++);
  const stalled = await stallRedis(redis.url, 4);
  await t.rejects(a.trust.getMetadata(OTHER, 'root'), { code: 'STORE_UNAVAILABLE' }, 'a first contact while the store is stalled');
  t.equal(a.health.up, false);
  t.same((await a.trust.getVersions(GUN)).get('timestamp'), 9, 'the remembered repository goes on from memory');
  await stalled.over;
  await until('the store is healthy again', async () => a.health.up);
  t.equal(reconnects, 0, 'recovered by a successful command, not by a reconnect');
  t.equal(await a.trust.getMetadata(OTHER, 'root'), undefined, 'an authoritative never-seen again');
});

t.test('FLUSHALL: the epoch changes and every remembered root and floor is written back; a new replica sees them', async (t) => {
  const redis = await startRedis(dir.path);
  t.teardown(redis.stop);
  const a = await replica(t, redis.url, 'flush:');
  await remember(a, GUN);
  const c = await raw(t, redis);
  await c.flushall();
  await until('written back', async () => Object.keys(await c.hgetall(`flush:{${GUN}}:versions`)).length === 4);
  t.equal(a.trust.dataLoss, 1);
  const b = await replica(t, redis.url, 'flush:');
  t.same(Object.fromEntries(await b.trust.getVersions(GUN)), { root: 2, timestamp: 9, snapshot: 4, 'targets/releases': 3 });
  t.same(await b.trust.getMetadata(GUN, 'root'), Buffer.from(`root of ${GUN}`));
});

t.test('part of a repository lost (one key evicted): in doubt for a new replica, repaired by one that remembers', async (t) => {
  const redis = await startRedis(dir.path);
  t.teardown(redis.stop);
  const a = await replica(t, redis.url, 'part:');
  await remember(a, GUN);
  const c = await raw(t, redis);
  await c.del(`part:{${GUN}}:meta:root`);
  const b = await replica(t, redis.url, 'part:');
  await t.rejects(b.trust.getMetadata(GUN, 'root'), StoreUnavailableError, 'floors without a root: never a first contact');
  await t.rejects(b.trust.getVersions(GUN), StoreUnavailableError);
  await a.trust.getVersions(GUN); // the next refresh on the replica that remembers
  t.equal(a.trust.dataLoss, 1);
  t.same(await b.trust.getMetadata(GUN, 'root'), Buffer.from(`root of ${GUN}`), 'repaired');
});

t.test('floors behind this replica (a failover to a lagging replica) are raised back; higher ones are kept', async (t) => {
  const redis = await startRedis(dir.path);
  t.teardown(redis.stop);
  const a = await replica(t, redis.url, 'lag:');
  await remember(a, GUN);
  const c = await raw(t, redis);
  await c.hset(`lag:{${GUN}}:versions`, 'timestamp', '3', 'snapshot', '100');
  const floors = await a.trust.getVersions(GUN);
  t.same([floors.get('timestamp'), floors.get('snapshot')], [9, 100]);
  t.same(await c.hmget(`lag:{${GUN}}:versions`, 'timestamp', 'snapshot'), ['9', '100'], 'raised back, never lowered');
  t.equal(a.trust.dataLoss, 1);
});

t.test('another root of the same version is never overwritten; a first root that lost the race fails closed', async (t) => {
  const redis = await startRedis(dir.path);
  t.teardown(redis.stop);
  const c = await raw(t, redis);
  await c.set(`race:{${GUN}}:meta:root`, 'root trusted by another replica');
  await c.hset(`race:{${GUN}}:versions`, 'root', '1');
  const a = await replica(t, redis.url, 'race:');
  await t.rejects(a.trust.putMetadata(GUN, 'root', Buffer.from('a forged root'), 1), StoreUnavailableError);
  t.equal(await c.get(`race:{${GUN}}:meta:root`), 'root trusted by another replica');
  t.equal(a.trust.memory.hasRoot(GUN), false, 'not trusted by this replica either');
});

t.test('a first contact on a new or emptied store waits for running replicas to write back', async (t) => {
  const redis = await startRedis(dir.path);
  t.teardown(redis.stop);
  const a = await replica(t, redis.url, 'window:', 1_500);
  const c = await raw(t, redis);
  const firstContact = a.trust.getMetadata(GUN, 'root');
  await sleep(200);
  // another replica writes back meanwhile (what a running replica does after a loss)
  await c.set(`window:{${GUN}}:meta:root`, 'written back');
  await c.hset(`window:{${GUN}}:versions`, 'root', '3');
  t.equal((await firstContact)?.toString(), 'written back', 'the first contact saw the written-back root, not "never seen"');
});

t.test('maxmemory-policy allkeys-* may evict trust keys: trustgate refuses to start on it', async (t) => {
  for (const [policy, refused] of [['allkeys-lru', true], ['volatile-lru', false]] as const) {
    const redis = await startRedis(dir.path, { args: ['--maxmemory-policy', policy] });
    const config = await parseConfig({ upstreams: [{ name: 'docker.io', registry: 'https://registry.example', notary: 'https://notary.example' }], redis: redis.url }, { env: {}, baseDir: dir.path });
    if (refused) await t.rejects(openStores(config), ConfigError, policy);
    else await (await openStores(config)).close();
    await redis.stop();
  }
});

t.test('a write no replica acknowledged is reported (and written again later)', async (t) => {
  const redis = await startRedis(dir.path);
  t.teardown(redis.stop);
  const client = await openRedis(redis.url);
  t.teardown(() => client.disconnect());
  const unacked: string[] = [];
  const store = new RedisTrustStore(client, 'wait:', { waitReplicas: 1, onUnacknowledged: (gun, role) => unacked.push(`${gun} ${role}`) });
  await store.putMetadata(GUN, 'root', Buffer.from('r'), 1);
  t.same(unacked, [`${GUN} root`], 'a standalone Redis has no replica to acknowledge');
  await store.putMetadata(GUN, 'root', Buffer.from('r'), 1);
  t.equal(unacked.length, 1, 'a write that changed nothing waits for nothing');
});

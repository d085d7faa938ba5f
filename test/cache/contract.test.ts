// One contract for every store: the in-memory implementations, the trust.bundles directory, the
// staging store an import writes through, and Redis (a real redis-server started here on a free port)
// must behave the same. The directory store's own protections: directory-store.test.ts.

import t, { type Test } from 'tap';
import { Redis } from 'ioredis';
import { openRedis, RedisResultCache, RedisTrustStore } from '../../src/cache/redis.js';
import { MAX_PARENT_HINTS, MemoryResultCache, type ResultCache } from '../../src/cache/results.js';
import { MemoryTrustStore, type TrustStore } from '../../src/cache/trust-store.js';
import { DirectoryTrustStore } from '../../src/cache/directory-store.js';
import { StagingTrustStore } from '../../src/cache/staging-store.js';
import { join } from 'node:path';
import { startRedis } from '../helpers/peers.js';
import { tempDir } from '../helpers/process.js';

const dir = tempDir('contract');
t.teardown(dir.remove);

interface Stores {
  trust: TrustStore;
  results: ResultCache;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function contract(t: Test, make: () => Promise<Stores>) {
  await t.test('metadata round-trips byte for byte, per GUN and role', async (t) => {
    const { trust } = await make();
    const bytes = Buffer.from([0, 1, 2, 255, 0x7b]);
    await trust.putMetadata('docker.io/library/a', 'targets/releases', bytes, 3);
    t.same(await trust.getMetadata('docker.io/library/a', 'targets/releases'), bytes);
    t.equal(await trust.getMetadata('docker.io/library/a', 'targets'), undefined);
    t.equal(await trust.getMetadata('docker.io/library/b', 'targets/releases'), undefined);
  });

  await t.test('nested repositories and delegation names never collide', async (t) => {
    const { trust } = await make();
    // repository a/b's delegations targets/root and targets/versions vs repository a/b/targets
    const parent = 'docker.io/a/b';
    const nested = 'docker.io/a/b/targets';
    await trust.putMetadata(parent, 'targets/root', Buffer.from('delegation root'), 4);
    await trust.putMetadata(parent, 'targets/versions', Buffer.from('delegation versions'), 6);
    await trust.putMetadata(nested, 'root', Buffer.from('nested root'), 1);
    await trust.putMetadata(nested, 'timestamp', Buffer.from('nested ts'), 9);
    t.same(await trust.getMetadata(parent, 'targets/root'), Buffer.from('delegation root'));
    t.same(await trust.getMetadata(parent, 'targets/versions'), Buffer.from('delegation versions'));
    t.same(await trust.getMetadata(nested, 'root'), Buffer.from('nested root'));
    t.same(Object.fromEntries(await trust.getVersions(parent)), { 'targets/root': 4, 'targets/versions': 6 });
    t.same(Object.fromEntries(await trust.getVersions(nested)), { root: 1, timestamp: 9 });
  });

  await t.test('version floors only go up; older bytes never replace newer ones', async (t) => {
    const { trust } = await make();
    const gun = 'docker.io/library/floors';
    await trust.putMetadata(gun, 'timestamp', Buffer.from('v5'), 5);
    await trust.putMetadata(gun, 'timestamp', Buffer.from('v3'), 3);
    t.equal((await trust.getVersions(gun)).get('timestamp'), 5);
    t.same(await trust.getMetadata(gun, 'timestamp'), Buffer.from('v5'), 'the older bytes were not stored');
    await trust.putMetadata(gun, 'timestamp', Buffer.from('v7'), 7);
    await trust.putMetadata(gun, 'snapshot', Buffer.from('s'), 2);
    t.same(Object.fromEntries(await trust.getVersions(gun)), { timestamp: 7, snapshot: 2 });
    t.same(await trust.getMetadata(gun, 'timestamp'), Buffer.from('v7'));
  });

  await t.test('a newer root drops the floors its rotation names, in the same write; the same root again does not', async (t) => {
    const { trust } = await make();
    const gun = 'docker.io/library/rotated';
    await trust.putMetadata(gun, 'root', Buffer.from('root v1'), 1, ['timestamp', 'snapshot']);
    await trust.putMetadata(gun, 'timestamp', Buffer.from('ts'), 900);
    await trust.putMetadata(gun, 'snapshot', Buffer.from('sn'), 40);
    await trust.putMetadata(gun, 'targets', Buffer.from('tg'), 7);
    t.same(Object.fromEntries(await trust.getVersions(gun)), { root: 1, timestamp: 900, snapshot: 40, targets: 7 }, 'a first root resets nothing');
    await trust.putMetadata(gun, 'root', Buffer.from('root v2'), 2, ['timestamp', 'snapshot']);
    t.same(Object.fromEntries(await trust.getVersions(gun)), { root: 2, targets: 7 }, 'timestamp and snapshot floors went with the old root');
    t.same(await trust.getMetadata(gun, 'root'), Buffer.from('root v2'));
    await trust.putMetadata(gun, 'timestamp', Buffer.from('ts2'), 3);
    await trust.putMetadata(gun, 'root', Buffer.from('root v2'), 2, ['timestamp', 'snapshot']);
    t.equal((await trust.getVersions(gun)).get('timestamp'), 3, 'storing the same root again does not reset');
  });

  await t.test('bytes stored at the current floor replace the bytes and leave the floor', async (t) => {
    const { trust } = await make();
    const gun = 'docker.io/library/kept';
    await trust.putMetadata(gun, 'targets/releases', Buffer.from('verified v4'), 4);
    await trust.putMetadata(gun, 'targets/releases', Buffer.from('left out, claims v9007199254740991'), 4);
    t.equal((await trust.getVersions(gun)).get('targets/releases'), 4);
    t.same(await trust.getMetadata(gun, 'targets/releases'), Buffer.from('left out, claims v9007199254740991'));
  });

  await t.test('manifests by digest keep exact bytes and type', async (t) => {
    const { results } = await make();
    const m = { mediaType: 'application/vnd.oci.image.index.v1+json', body: Buffer.from('{"manifests":[]}\n\u00e9') };
    await results.putManifest('sha256:' + 'b'.repeat(64), m);
    t.same(await results.getManifest('sha256:' + 'b'.repeat(64)), m);
    t.equal(await results.getManifest('sha256:' + 'c'.repeat(64)), undefined);
  });

  await t.test('parent hints are kept per GUN until their parent trust expires', async (t) => {
    const { results } = await make();
    const [p1, p2, c1, c2] = ['p1', 'p2', 'c1', 'c2'].map((x) => 'sha256:' + x.padEnd(64, x.slice(-1)));
    // long enough that a busy machine reads it back before it expires (a store round trip or two)
    await results.addParentHint('docker.io/p', p1 as string, [c1 as string, c2 as string], 1_000);
    t.same(await results.parentHints('docker.io/p', c1 as string), [p1]);
    t.same(await results.parentHints('docker.io/other', c1 as string), [], 'not for another repository');
    await results.addParentHint('docker.io/p', p1 as string, [c1 as string], 60_000); // a longer-lived parent extends it
    await results.addParentHint('docker.io/p', p2 as string, [c1 as string], 60_000);
    await sleep(1_100);
    t.same((await results.parentHints('docker.io/p', c1 as string)).sort(), [p1, p2].sort());
    t.same(await results.parentHints('docker.io/p', c2 as string), [], 'expired');
  });

  await t.test('parent hints per child are bounded', async (t) => {
    const { results } = await make();
    const child = 'sha256:' + 'c'.repeat(64);
    for (let i = 0; i < MAX_PARENT_HINTS + 5; i++) await results.addParentHint('docker.io/many', 'sha256:' + String(i).padStart(64, '0'), [child], 60_000);
    t.ok((await results.parentHints('docker.io/many', child)).length <= MAX_PARENT_HINTS);
  });
}

t.test('in-memory stores', (t) => contract(t, async () => ({ trust: new MemoryTrustStore(), results: new MemoryResultCache() })));

t.test('directory trust store (trust.bundles)', (t) => {
  let n = 0;
  return contract(t, async () => ({ trust: new DirectoryTrustStore(join(dir.path, `bundles-${n++}`)), results: new MemoryResultCache() }));
});

t.test('staging store over the in-memory store (writes held back until commit)', (t) =>
  contract(t, async () => ({ trust: new StagingTrustStore(new MemoryTrustStore()), results: new MemoryResultCache() })),
);

t.test('staging store over the directory store', (t) => {
  let n = 0;
  return contract(t, async () => ({ trust: new StagingTrustStore(new DirectoryTrustStore(join(dir.path, `staged-${n++}`))), results: new MemoryResultCache() }));
});

t.test('staging store: nothing reaches the real store before commit; commit keeps the floor rules', async (t) => {
  for (const [name, make] of [
    ['memory', () => new MemoryTrustStore()],
    ['directory', () => new DirectoryTrustStore(join(dir.path, `commit-${Math.random().toString(16).slice(2)}`))],
  ] as const) {
    const target = make();
    await target.putMetadata('docker.io/x/y', 'timestamp', Buffer.from('t5'), 5);
    const staging = new StagingTrustStore(target);
    await staging.putMetadata('docker.io/x/y', 'timestamp', Buffer.from('t4'), 4);
    t.same(await staging.getMetadata('docker.io/x/y', 'timestamp'), Buffer.from('t5'), `${name}: an older staged write is no write`);
    await staging.putMetadata('docker.io/x/y', 'timestamp', Buffer.from('t6'), 6);
    await staging.putMetadata('docker.io/x/z', 'root', Buffer.from('r1'), 1);
    t.same(await staging.getMetadata('docker.io/x/y', 'timestamp'), Buffer.from('t6'), `${name}: reads see staged writes`);
    t.same(await target.getMetadata('docker.io/x/y', 'timestamp'), Buffer.from('t5'), `${name}: the real store does not, yet`);
    t.equal(await target.getMetadata('docker.io/x/z', 'root'), undefined);
    await staging.commit();
    t.same(await target.getMetadata('docker.io/x/y', 'timestamp'), Buffer.from('t6'), `${name}: committed`);
    t.same(Object.fromEntries(await target.getVersions('docker.io/x/z')), { root: 1 });
  }
  const target = new MemoryTrustStore();
  await target.putMetadata('docker.io/x/y', 'root', Buffer.from('r'), 1);
  await target.putMetadata('docker.io/x/y', 'snapshot', Buffer.from('s'), 1);
  const limited = new StagingTrustStore(target, { readThrough: (role) => role === 'root' });
  t.same(await limited.getMetadata('docker.io/x/y', 'root'), Buffer.from('r'), 'read through for the root');
  t.equal(await limited.getMetadata('docker.io/x/y', 'snapshot'), undefined, 'not for other roles');
  t.same(Object.fromEntries(await limited.getVersions('docker.io/x/y')), { root: 1, snapshot: 1 }, 'floors always come from the real store');
});

t.test('Redis stores', async (t) => {
  const redis = await startRedis(dir.path);
  t.teardown(redis.stop);
  const clients: Redis[] = [];
  t.teardown(async () => {
    for (const c of clients) await c.quit();
  });
  let n = 0;
  await contract(t, async () => {
    const c = await openRedis(redis.url);
    clients.push(c);
    const prefix = `contract${n++}:`;
    return { trust: new RedisTrustStore(c, prefix), results: new RedisResultCache(c, prefix) };
  });

  await t.test('keys of one repository share a Cluster hash slot', async (t) => {
    const c = await openRedis(redis.url);
    clients.push(c);
    await new RedisTrustStore(c, 'slot:').putMetadata('docker.io/library/x', 'root', Buffer.from('r'), 1);
    const keys = (await c.keys('slot:*')).sort();
    t.same(keys, ['slot:{docker.io/library/x}:meta:root', 'slot:{docker.io/library/x}:versions']);
  });
});

t.test('in-memory manifest cache stays within its byte budget', async (t) => {
  const c = new MemoryResultCache(1000);
  for (let i = 0; i < 10; i++) await c.putManifest(`sha256:${String(i).repeat(64)}`, { mediaType: 'x', body: Buffer.alloc(300) });
  let kept = 0;
  for (let i = 0; i < 10; i++) if (await c.getManifest(`sha256:${String(i).repeat(64)}`)) kept++;
  t.equal(kept, 3, 'least recently used evicted first');
  t.ok(await c.getManifest(`sha256:${'9'.repeat(64)}`), 'the newest stays');
});

// ---- the Resilient stores (Redis with this replica's memory beside it) ------------------------
// The same contract through ResilientTrustStore / ResilientResultCache over a real redis-server;
// their behaviour under faults (stopped, stalled, flushed) is in resilient.test.ts.

t.test('Resilient stores over Redis', async (t) => {
  const { RedisHealth } = await import('../../src/cache/health.js');
  const { ResilientTrustStore, ResilientResultCache } = await import('../../src/cache/resilient.js');
  const redis = await startRedis(dir.path);
  t.teardown(redis.stop);
  const opened: { close(): Promise<void> }[] = [];
  t.teardown(async () => {
    for (const s of opened) await s.close();
  });
  let n = 0;
  await contract(t, async () => {
    const c = await openRedis(redis.url);
    const prefix = `resilient${n++}:`;
    const health = new RedisHealth(c, redis.url);
    const trust = new ResilientTrustStore(new RedisTrustStore(c, prefix), health, { epochWindowMs: 0 });
    const results = new ResilientResultCache(new RedisResultCache(c, prefix), health);
    opened.push(trust, results);
    return { trust, results };
  });
});

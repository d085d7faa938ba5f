// The shared store's floors at their edges, against a real redis-server: a conflicting root names the
// store it came from; the resilient store reports a shared floor of 0 like any other and the higher
// of two floors role by role; and a write the shared store missed is remembered and written back
// once it answers again — so its floors catch up with this replica's, not stay behind.

import t, { type Test } from 'tap';
import type { Redis } from 'ioredis';
import { RedisHealth } from '../../src/cache/health.js';
import { openRedis, RedisTrustStore } from '../../src/cache/redis.js';
import { ResilientTrustStore, type TrustStateEvent } from '../../src/cache/resilient.js';
import { StoreUnavailableError } from '../../src/errors.js';
import { startRedis } from '../helpers/peers.js';
import { tempDir } from '../helpers/process.js';

const dir = tempDir('floor-redis-edges');
t.teardown(dir.remove);
const GUN = 'docker.io/library/edges';
const bytes = (s: string) => Buffer.from(s);

t.test('redis floors at their edges', async (t) => {
  const redis = await startRedis(dir.path);
  t.teardown(redis.stop);
  const client: Redis = await openRedis(redis.url);
  t.teardown(() => client.quit());
  let n = 0;

  /** A replica's resilient store over its own prefix; its health probes often, so it comes back soon. */
  const replica = (t: Test) => {
    const shared = new RedisTrustStore(client, `edges${n++}:`);
    let up: () => void = () => {};
    const health = new RedisHealth(client, 'redis', { onUp: () => up() }, 20);
    const events: TrustStateEvent[] = [];
    const store = new ResilientTrustStore(shared, health, { onEvent: (e) => events.push(e) });
    t.teardown(async () => {
      await store.close();
      health.close();
    });
    const upAgain = () => new Promise<void>((resolve) => (up = resolve));
    return { shared, health, store, events, upAgain };
  };

  await t.test('another root of the same version is refused, naming the store', async (t) => {
    const plain = new RedisTrustStore(client, `edges${n++}:`);
    await plain.putMetadata(GUN, 'root', bytes('root 2'), 2);
    const err = await plain.putMetadata(GUN, 'root', bytes('another root 2'), 2).catch((e: unknown) => e);
    t.ok(err instanceof StoreUnavailableError);
    t.equal((err as StoreUnavailableError).code, 'STORE_UNAVAILABLE');
    t.equal((err as StoreUnavailableError).store, 'redis');

    const described = new RedisTrustStore(client, `edges${n++}:`, { describe: redis.url });
    await described.putMetadata(GUN, 'root', bytes('root 2'), 2);
    const named = await described.putMetadata(GUN, 'root', bytes('another root 2'), 2).catch((e: unknown) => e);
    t.ok(named instanceof StoreUnavailableError);
    t.equal((named as StoreUnavailableError).store, redis.url);
    t.same(await described.getMetadata(GUN, 'root'), bytes('root 2'), 'the first root stays');
    t.same(Object.fromEntries(await described.getVersions(GUN)), { root: 2 });
  });

  await t.test('the resilient store reports a shared floor of 0 like any other', async (t) => {
    const { shared, store } = replica(t);
    await shared.putMetadata(GUN, 'root', bytes('root 1'), 1); // another replica's first contact
    await shared.putMetadata(GUN, 'targets/releases', bytes('unreadable version'), 0);
    t.same(Object.fromEntries(await store.getVersions(GUN)), { root: 1, 'targets/releases': 0 });

    const other = `${GUN}-remembered`;
    await store.putMetadata(other, 'timestamp', bytes('t5'), 5);
    await shared.putMetadata(other, 'targets/releases', bytes('unreadable version'), 0);
    t.same(Object.fromEntries(await store.getVersions(other)), { timestamp: 5, 'targets/releases': 0 });
  });

  await t.test('the resilient store reports the higher floor, whichever side holds it', async (t) => {
    const { shared, store } = replica(t);
    await store.putMetadata(GUN, 'timestamp', bytes('t5'), 5);
    await store.putMetadata(GUN, 'snapshot', bytes('s9'), 9);
    await shared.putMetadata(GUN, 'timestamp', bytes('t9'), 9); // another replica went further
    await store.memory.putMetadata(GUN, 'snapshot', bytes('s10'), 10); // this replica did, unshared
    t.same(Object.fromEntries(await store.getVersions(GUN)), { timestamp: 9, snapshot: 10 });
  });

  await t.test('a write the shared store missed is written back when it answers again', async (t) => {
    const { shared, store, health, events, upAgain } = replica(t);
    await store.putMetadata(GUN, 'timestamp', bytes('t5'), 5);
    const up = upAgain();
    health.markDown(new Error('connection closed'));
    await store.putMetadata(GUN, 'timestamp', bytes('t6'), 6); // refused by the shared store: pending
    t.equal((await shared.getVersions(GUN)).get('timestamp'), 5);
    await up;
    await store.recovered();
    t.equal((await shared.getVersions(GUN)).get('timestamp'), 6);
    t.same(await shared.getMetadata(GUN, 'timestamp'), bytes('t6'));
    t.same(Object.fromEntries(await store.getVersions(GUN)), { timestamp: 6 });
    t.equal(store.dataLoss, 0, 'a write that failed is not a loss');
    t.same(events, []);
  });
});

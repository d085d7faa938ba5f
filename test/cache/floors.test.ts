// The rollback floors of every trust store (putMetadata and getVersions): a floor follows the version
// stored and never goes down; the same version may be stored again (a refresh re-stores what it
// verified); roles are independent; a floor of 0 (a file whose version could not be read) is a floor
// like any other. The resilient store reports the higher of its own and the shared floors.

import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { Redis } from 'ioredis';
import { DirectoryTrustStore } from '../../src/cache/directory-store.js';
import { openRedis, RedisTrustStore } from '../../src/cache/redis.js';
import { RedisHealth } from '../../src/cache/health.js';
import { ResilientTrustStore } from '../../src/cache/resilient.js';
import { MemoryTrustStore, type TrustStore } from '../../src/cache/trust-store.js';
import { ConfigError } from '../../src/errors.js';
import { startRedis } from '../helpers/peers.js';
import { tempDir } from '../helpers/process.js';

const dir = tempDir('floors');
t.teardown(dir.remove);
const GUN = 'docker.io/library/floors';
const bytes = (s: string) => Buffer.from(s);

async function floors(t: Test, make: () => Promise<TrustStore>) {
  await t.test('the same version stored again replaces the bytes', async (t) => {
    const store = await make();
    await store.putMetadata(GUN, 'timestamp', bytes('first'), 4);
    await store.putMetadata(GUN, 'timestamp', bytes('second'), 4);
    t.same(await store.getMetadata(GUN, 'timestamp'), bytes('second'));
    t.equal((await store.getVersions(GUN)).get('timestamp'), 4);
  });

  await t.test('the same bytes at a higher version raise the floor', async (t) => {
    const store = await make();
    await store.putMetadata(GUN, 'snapshot', bytes('same'), 2);
    await store.putMetadata(GUN, 'snapshot', bytes('same'), 3);
    t.equal((await store.getVersions(GUN)).get('snapshot'), 3);
  });

  await t.test('a floor of 0 is stored, and a lower version never replaces a higher one', async (t) => {
    const store = await make();
    await store.putMetadata(GUN, 'targets/releases', bytes('unreadable version'), 0);
    t.same(await store.getMetadata(GUN, 'targets/releases'), bytes('unreadable version'));
    t.equal((await store.getVersions(GUN)).get('targets/releases'), 0);
    await store.putMetadata(GUN, 'targets/releases', bytes('v9'), 9);
    await store.putMetadata(GUN, 'targets/releases', bytes('v8'), 8);
    t.same(await store.getMetadata(GUN, 'targets/releases'), bytes('v9'));
    t.equal((await store.getVersions(GUN)).get('targets/releases'), 9);
  });

  await t.test('roles and repositories keep their own floors', async (t) => {
    const store = await make();
    await store.putMetadata(GUN, 'root', bytes('r'), 2);
    await store.putMetadata(GUN, 'timestamp', bytes('t'), 30);
    await store.putMetadata(`${GUN}-other`, 'root', bytes('o'), 7);
    t.same(Object.fromEntries(await store.getVersions(GUN)), { root: 2, timestamp: 30 });
    t.same(Object.fromEntries(await store.getVersions(`${GUN}-other`)), { root: 7 });
    t.same(Object.fromEntries(await store.getVersions(`${GUN}-none`)), {});
  });
}

t.test('memory store', (t) => floors(t, async () => new MemoryTrustStore()));

t.test('directory store', async (t) => {
  let n = 0;
  await floors(t, async () => new DirectoryTrustStore(join(dir.path, `floors-${n++}`)));

  await t.test('a role name that is not a trust file is refused, never written', async (t) => {
    const store = new DirectoryTrustStore(join(dir.path, 'names'));
    for (const role of ['../escape', 'targets/../../x', 'versions', '']) {
      await t.rejects(store.putMetadata(GUN, role, bytes('x'), 1), ConfigError, role);
    }
    t.same(Object.fromEntries(await store.getVersions(GUN)), {});
  });
});

t.test('redis store and the resilient store over it', async (t) => {
  const redis = await startRedis(dir.path);
  t.teardown(redis.stop);
  const client: Redis = await openRedis(redis.url);
  t.teardown(() => client.quit());
  let n = 0;
  await t.test('redis store', (t) => floors(t, async () => new RedisTrustStore(client, `floors${n++}:`)));

  /** A replica's resilient store over the shared one; its health a test can mark down. */
  const replica = (t: Test) => {
    const shared = new RedisTrustStore(client, `resilient${n++}:`);
    const health = new RedisHealth(client, 'redis', {}, 60_000);
    const store = new ResilientTrustStore(shared, health);
    t.teardown(async () => {
      await store.close();
      health.close();
    });
    return { shared, health, store };
  };

  await t.test('resilient store', async (t) => {
    await floors(t, async () => replica(t).store);

    await t.test('reports the higher of its own and the shared floor, role by role', async (t) => {
      const { shared, store } = replica(t);
      await store.putMetadata(GUN, 'timestamp', bytes('t5'), 5); // both
      await shared.putMetadata(GUN, 'timestamp', bytes('t9'), 9); // another replica went further
      await store.putMetadata(GUN, 'snapshot', bytes('s4'), 4);
      await shared.putMetadata(GUN, 'targets', bytes('only shared'), 3);
      t.same(Object.fromEntries(await store.getVersions(GUN)), { timestamp: 9, snapshot: 4, targets: 3 });
    });

    await t.test('while the shared store is down, its own floors still hold', async (t) => {
      const { shared, health, store } = replica(t);
      await store.putMetadata(GUN, 'timestamp', bytes('t5'), 5);
      health.markDown(new Error('connection closed'));
      await store.putMetadata(GUN, 'timestamp', bytes('t6'), 6); // written locally only
      t.same(Object.fromEntries(await store.getVersions(GUN)), { timestamp: 6 });
      t.equal((await shared.getVersions(GUN)).get('timestamp'), 5, 'nothing reached the shared store meanwhile');
    });
  });
});

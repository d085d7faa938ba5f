// Import announcements over a real redis-server: a replica forgets the repositories an import names,
// and — since pub/sub may lose a message — every answer when an announcement may have been missed:
// after its subscription was cut and re-established, when numbers skip, when the store's import
// counter is ahead of what it was told, or when a message is not an announcement.

import { Redis } from 'ioredis';
import t, { type Test } from 'tap';
import { announceImport, ImportListener, type ImportNoticeReason } from '../../src/cache/import-notices.js';
import { openRedis } from '../../src/cache/redis.js';
import type { RedisConfig } from '../../src/config/redis.js';
import { startRedis } from '../helpers/peers.js';
import { tempDir, waitFor } from '../helpers/process.js';

const dir = tempDir('import-notices');
t.teardown(dir.remove);
const PREFIX = 'notices:';

type Forgotten = { reason: ImportNoticeReason; guns: readonly string[] | undefined };

async function setup(t: Test) {
  const redis = await startRedis(dir.path);
  t.teardown(redis.stop);
  const cfg: RedisConfig = { topology: { kind: 'standalone', url: redis.url }, tls: false, waitReplicas: 0, describe: 'redis' };
  const store = await openRedis(redis.url);
  t.teardown(() => store.quit());
  const forgotten: Forgotten[] = [];
  const listener = new ImportListener({ redis: cfg, prefix: PREFIX, store, forget: (reason, guns) => void forgotten.push({ reason, guns }), checkIntervalMs: 100 });
  t.teardown(() => listener.close());
  // subscribed: announcements before then may be lost, so it forgets everything once
  await waitFor('the subscription', async () => forgotten.some((f) => f.reason === 'resubscribed'), 10_000);
  forgotten.length = 0;
  const admin = new Redis(redis.url);
  t.teardown(() => admin.quit());
  return { store, admin, forgotten };
}

const next = async (forgotten: Forgotten[], what: string): Promise<Forgotten> => {
  await waitFor(what, async () => forgotten.length > 0, 10_000);
  return forgotten.shift() as Forgotten;
};

t.test('an announcement forgets the repositories it names', async (t) => {
  const { store, forgotten } = await setup(t);
  t.equal(await announceImport(store, PREFIX, ['docker.io/library/a', 'docker.io/library/b']), 1, 'one subscriber reached');
  t.same(await next(forgotten, 'the announcement'), { reason: 'import', guns: ['docker.io/library/a', 'docker.io/library/b'] });
  await announceImport(store, PREFIX, ['docker.io/library/c']);
  t.same(await next(forgotten, 'the second'), { reason: 'import', guns: ['docker.io/library/c'] });
});

t.test('an announcement lost in transit: the counter ahead forgets every answer', async (t) => {
  const { admin, forgotten } = await setup(t);
  await admin.incr(`${PREFIX}imports`); // an import whose PUBLISH never arrived
  t.same(await next(forgotten, 'the counter check'), { reason: 'missed-import', guns: undefined });
});

t.test('numbers that skip: every answer', async (t) => {
  const { admin, forgotten } = await setup(t);
  await admin.publish(`${PREFIX}trust-imported`, JSON.stringify({ seq: 5, guns: ['docker.io/library/a'] }));
  t.same(await next(forgotten, 'the skipping announcement'), { reason: 'missed-import', guns: undefined });
});

t.test('a message that is not an announcement: every answer', async (t) => {
  const { admin, forgotten } = await setup(t);
  await admin.publish(`${PREFIX}trust-imported`, '{"seq":1,"guns":[1]}');
  t.same(await next(forgotten, 'the malformed message'), { reason: 'import', guns: undefined });
});

t.test('a subscription cut and re-established: every answer', async (t) => {
  const { admin, forgotten } = await setup(t);
  t.ok(Number(await admin.client('KILL', 'TYPE', 'pubsub')) >= 1, 'the subscriber connection is cut');
  t.same(await next(forgotten, 'the resubscription'), { reason: 'resubscribed', guns: undefined });
});

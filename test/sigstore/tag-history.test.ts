// The tag rollback memory: one contract for the in-process store and Redis (a real redis-server on a
// free port), so every replica refuses the same rollbacks.

import t, { type Test } from 'tap';
import { openRedis } from '../../src/cache/redis.js';
import { MemoryTagHistory, SUPERSEDED_MAX, type Advance, type TagHistoryStore } from '../../src/sigstore/tag-history.js';
import { RedisTagHistory } from '../../src/sigstore/tag-history-redis.js';
import { startRedis } from '../helpers/peers.js';
import { tempDir } from '../helpers/process.js';

const D = (c: string) => `sha256:${c.repeat(64)}`;
const GUN = 'docker.io/acme/app';

/** An Advance with `order: undefined` and a missing order compared alike. */
function norm(a: Advance): unknown {
  return a.accepted ? a : { accepted: false, newest: { digest: a.newest.digest, order: a.newest.order ?? null } };
}

async function contract(t: Test, make: () => Promise<TagHistoryStore>) {
  await t.test('a tag moving to newer signing times is accepted; an older one is refused', async (t) => {
    const h = await make();
    t.same(await h.advance(GUN, 'v1', { digest: D('a'), order: 1000 }), { accepted: true });
    t.same(await h.advance(GUN, 'v1', { digest: D('b'), order: 2000 }), { accepted: true });
    t.same(norm(await h.advance(GUN, 'v1', { digest: D('a'), order: 1000 })), { accepted: false, newest: { digest: D('b'), order: 2000 } });
    t.same(norm(await h.advance(GUN, 'v1', { digest: D('c'), order: 1500 })), { accepted: false, newest: { digest: D('b'), order: 2000 } });
    t.same(await h.advance(GUN, 'v1', { digest: D('b'), order: 2000 }), { accepted: true }, 'the newest stays served');
    t.same(await h.advance(GUN, 'v2', { digest: D('a'), order: 1000 }), { accepted: true }, 'tags are separate');
    t.same(await h.advance('docker.io/acme/other', 'v1', { digest: D('a'), order: 1 }), { accepted: true }, 'repositories are separate');
  });

  await t.test('without signing times, first-seen order decides: a digest the tag left is older', async (t) => {
    const h = await make();
    t.same(await h.advance(GUN, 'x', { digest: D('a') }), { accepted: true });
    t.same(await h.advance(GUN, 'x', { digest: D('b') }), { accepted: true });
    t.same(norm(await h.advance(GUN, 'x', { digest: D('a') })), { accepted: false, newest: { digest: D('b'), order: null } });
    t.same(await h.advance(GUN, 'x', { digest: D('c'), order: 5 }), { accepted: true }, 'a digest never seen is newer');
    t.same(norm(await h.advance(GUN, 'x', { digest: D('b') })), { accepted: false, newest: { digest: D('c'), order: 5 } });
  });

  await t.test('equal signing times do not order two digests: first-seen order does', async (t) => {
    const h = await make();
    t.same(await h.advance(GUN, 'eq', { digest: D('a'), order: 7000 }), { accepted: true });
    t.same(await h.advance(GUN, 'eq', { digest: D('b'), order: 7000 }), { accepted: true });
    t.same(norm(await h.advance(GUN, 'eq', { digest: D('a'), order: 7000 })), { accepted: false, newest: { digest: D('b'), order: 7000 } });
  });

  await t.test('re-signing an older image gives it a newer time: a deliberate return is accepted', async (t) => {
    const h = await make();
    await h.advance(GUN, 'r', { digest: D('a'), order: 1000 });
    await h.advance(GUN, 'r', { digest: D('b'), order: 2000 });
    t.same(await h.advance(GUN, 'r', { digest: D('a'), order: 3000 }), { accepted: true });
    t.same((await h.get(GUN, 'r'))?.newest, { digest: D('a'), order: 3000 });
    t.same(await h.advance(GUN, 'r', { digest: D('a'), order: 1000 }), { accepted: true }, 'the same digest with an older signature too');
    t.same((await h.get(GUN, 'r'))?.newest, { digest: D('a'), order: 3000 }, 'its time does not go down');
  });

  await t.test('an operator re-tag makes the chosen digest the newest', async (t) => {
    const h = await make();
    await h.advance(GUN, 'o', { digest: D('a'), order: 1000 });
    await h.advance(GUN, 'o', { digest: D('b'), order: 2000 });
    t.equal((await h.advance(GUN, 'o', { digest: D('a'), order: 1000 })).accepted, false);
    await h.reset(GUN, 'o', D('a'));
    t.same(await h.advance(GUN, 'o', { digest: D('a'), order: 1000 }), { accepted: true });
    t.same(norm(await h.advance(GUN, 'o', { digest: D('c') })), { accepted: true }, 'a new digest after it');
    await h.reset(GUN, 'o', D('a'));
    t.same(norm(await h.advance(GUN, 'o', { digest: D('c') })), { accepted: false, newest: { digest: D('a'), order: null } }, 'the tag was re-tagged away from c');
    t.same(norm(await h.advance(GUN, 'o', { digest: D('b'), order: 2000 })), { accepted: false, newest: { digest: D('a'), order: null } }, 'nor back to b');
    await h.reset(GUN, 'o');
    t.equal(await h.get(GUN, 'o'), undefined, 'forgotten');
    t.same(await h.advance(GUN, 'o', { digest: D('b'), order: 2000 }), { accepted: true });
  });

  await t.test('the superseded list is bounded', async (t) => {
    const h = await make();
    for (let i = 0; i < SUPERSEDED_MAX + 5; i++) await h.advance(GUN, 'many', { digest: `sha256:${i.toString(16).padStart(64, '0')}` });
    const s = await h.get(GUN, 'many');
    t.equal(s?.superseded.length, SUPERSEDED_MAX);
  });
}

t.test('memory', (t) => contract(t, async () => new MemoryTagHistory()));

t.test('redis', async (t) => {
  const dir = tempDir('tag-history');
  t.teardown(dir.remove);
  const redis = await startRedis(dir.path);
  t.teardown(redis.stop);
  const client = await openRedis(redis.url);
  t.teardown(() => client.quit());
  let n = 0;
  await contract(t, async () => new RedisTagHistory(client, `t${n++}:`));
});

// The staging store an import verifies a bundle against must report the floors the real store will
// hold after the commit: a staged root that replaces the site's older root drops the floors it names
// (TUF 5.3.11: the timestamp/snapshot keys rotated, and their versions restart low), so the bundle's
// new low timestamp is a write, not a rollback. Only such a root drops floors — as in the real stores.

import { join } from 'node:path';
import t, { type Test } from 'tap';
import { DirectoryTrustStore } from '../../src/cache/directory-store.js';
import { StagingTrustStore } from '../../src/cache/staging-store.js';
import { MemoryTrustStore, type TrustStore } from '../../src/cache/trust-store.js';
import { tempDir } from '../helpers/process.js';

const dir = tempDir('staging-root-reset');
t.teardown(dir.remove);
const GUN = 'docker.io/library/rotated';
const bytes = (s: string) => Buffer.from(s);
const RESETS = ['timestamp', 'snapshot'];
const floorsOf = async (store: TrustStore) => Object.fromEntries(await store.getVersions(GUN));

/** A real store holding root v1 and the high floors of the keys about to rotate. */
async function site(store: TrustStore): Promise<TrustStore> {
  await store.putMetadata(GUN, 'root', bytes('root 1'), 1);
  await store.putMetadata(GUN, 'timestamp', bytes('t9'), 9);
  await store.putMetadata(GUN, 'snapshot', bytes('s8'), 8);
  await store.putMetadata(GUN, 'targets', bytes('targets 7'), 7);
  return store;
}

let n = 0;
const REAL: ReadonlyArray<readonly [string, () => TrustStore]> = [
  ['memory', () => new MemoryTrustStore()],
  ['directory', () => new DirectoryTrustStore(join(dir.path, `site-${n++}`))],
];

for (const [name, make] of REAL) {
  t.test(`over a ${name} store: a staged newer root drops the floors it names`, async (t) => {
    const target = await site(make());
    const staging = new StagingTrustStore(target);
    await staging.putMetadata(GUN, 'root', bytes('root 2'), 2, RESETS);
    t.same(await floorsOf(staging), { root: 2, targets: 7 }, 'the rotated roles have no floor any more');

    await staging.putMetadata(GUN, 'timestamp', bytes('t1'), 1);
    await staging.putMetadata(GUN, 'snapshot', bytes('s1'), 1);
    t.same(await floorsOf(staging), { root: 2, targets: 7, timestamp: 1, snapshot: 1 }, 'floors staged after the root count');
    t.same(await staging.getMetadata(GUN, 'timestamp'), bytes('t1'));
    t.same(
      staging.pending.map((w) => [w.role, w.version]),
      [['root', 2], ['timestamp', 1], ['snapshot', 1]],
      'the restarted versions are staged, in order',
    );
    t.same(await floorsOf(target), { root: 1, timestamp: 9, snapshot: 8, targets: 7 }, 'nothing reached the real store yet');

    await staging.commit();
    t.same(await floorsOf(target), { root: 2, targets: 7, timestamp: 1, snapshot: 1 }, 'the real store applied the same reset');
    t.same(await target.getMetadata(GUN, 'timestamp'), bytes('t1'));
  });

  t.test(`over a ${name} store: a floor staged before the root is dropped by it too`, async (t) => {
    const target = await site(make());
    const staging = new StagingTrustStore(target);
    await staging.putMetadata(GUN, 'timestamp', bytes('t12'), 12);
    await staging.putMetadata(GUN, 'root', bytes('root 2'), 2, RESETS);
    t.same(await floorsOf(staging), { root: 2, targets: 7 });
    await staging.putMetadata(GUN, 'timestamp', bytes('t1'), 1);
    t.same(await floorsOf(staging), { root: 2, targets: 7, timestamp: 1 });
    t.same(await staging.getMetadata(GUN, 'timestamp'), bytes('t1'), 'reads see the write staged last');
    await staging.commit();
    t.same(await floorsOf(target), { root: 2, targets: 7, timestamp: 1 }, 'as the real store has it after the commit');
    t.same(await target.getMetadata(GUN, 'timestamp'), bytes('t1'));
  });
}

async function dropsNothing(t: Test, write: (staging: StagingTrustStore) => Promise<void>, floors: Record<string, number>) {
  const target = await site(new MemoryTrustStore());
  const staging = new StagingTrustStore(target);
  await write(staging);
  t.same(await floorsOf(staging), floors);
  await staging.putMetadata(GUN, 'timestamp', bytes('t1'), 1);
  t.same(await floorsOf(staging), floors, 'a lower timestamp is still refused');
  t.notOk(
    staging.pending.some((w) => w.role === 'timestamp'),
    'and not staged',
  );
  await staging.commit();
  t.same(await floorsOf(target), floors, 'the real store agrees');
}

t.test('a staged root of the version the site holds drops nothing', (t) =>
  dropsNothing(t, (s) => s.putMetadata(GUN, 'root', bytes('root 1, other bytes'), 1, RESETS), { root: 1, timestamp: 9, snapshot: 8, targets: 7 }),
);

t.test('a staged newer root that names no floors drops nothing', (t) =>
  dropsNothing(t, (s) => s.putMetadata(GUN, 'root', bytes('root 2'), 2), { root: 2, timestamp: 9, snapshot: 8, targets: 7 }),
);

t.test('a staged write of another role drops nothing, whatever it names', (t) =>
  dropsNothing(t, (s) => s.putMetadata(GUN, 'targets', bytes('targets 8'), 8, RESETS), { root: 1, timestamp: 9, snapshot: 8, targets: 8 }),
);

t.test('a staged first root drops nothing (the site holds no root)', async (t) => {
  const target = new MemoryTrustStore();
  await target.putMetadata(GUN, 'timestamp', bytes('t9'), 9);
  const staging = new StagingTrustStore(target);
  await staging.putMetadata(GUN, 'root', bytes('root 3'), 3, RESETS);
  t.same(await floorsOf(staging), { timestamp: 9, root: 3 });
  await staging.commit();
  t.same(await floorsOf(target), { timestamp: 9, root: 3 });
});

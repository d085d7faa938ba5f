// When a store drops rollback floors, and when it must not: only a root that replaces an older root
// drops the floors it names (TUF 5.3.11: their keys rotated) — never a first root, a root stored
// again at the same version, or any other role's write. And what a store must not do beside a floor:
// invent a floor for a repository it never saw, take the writers' lock for a write that changes
// nothing, or report another store's floor lower than it is (the staging store over the site's).

import { hostname } from 'node:os';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { DirectoryTrustStore } from '../../src/cache/directory-store.js';
import { StagingTrustStore } from '../../src/cache/staging-store.js';
import { MemoryTrustStore, type TrustStore } from '../../src/cache/trust-store.js';
import { StoreLockedError } from '../../src/errors.js';
import { tempDir } from '../helpers/process.js';

const dir = tempDir('floor-resets');
t.teardown(dir.remove);
const GUN = 'docker.io/library/resets';
const bytes = (s: string) => Buffer.from(s);
const RESETS = ['timestamp', 'snapshot'];
const floorsOf = async (store: TrustStore, gun = GUN) => Object.fromEntries(await store.getVersions(gun));

async function resets(t: Test, make: () => TrustStore) {
  await t.test('a newer root drops the floors it names, and only those', async (t) => {
    const store = make();
    await store.putMetadata(GUN, 'root', bytes('root 1'), 1);
    await store.putMetadata(GUN, 'timestamp', bytes('t9'), 9);
    await store.putMetadata(GUN, 'snapshot', bytes('s8'), 8);
    await store.putMetadata(GUN, 'targets', bytes('targets 7'), 7);
    await store.putMetadata(GUN, 'root', bytes('root 2'), 2, RESETS);
    t.same(await floorsOf(store), { root: 2, targets: 7 });
  });

  await t.test('a first root drops no floor', async (t) => {
    const store = make();
    await store.putMetadata(GUN, 'timestamp', bytes('t9'), 9);
    await store.putMetadata(GUN, 'root', bytes('root 3'), 3, RESETS);
    t.same(await floorsOf(store), { timestamp: 9, root: 3 });
  });

  await t.test('another root of the same version drops no floor', async (t) => {
    const store = make();
    await store.putMetadata(GUN, 'root', bytes('root 2'), 2);
    await store.putMetadata(GUN, 'timestamp', bytes('t9'), 9);
    await store.putMetadata(GUN, 'root', bytes('root 2, other bytes'), 2, RESETS);
    t.same(await floorsOf(store), { root: 2, timestamp: 9 });
  });

  await t.test('a write of any other role drops no floor, whatever it names', async (t) => {
    const store = make();
    await store.putMetadata(GUN, 'root', bytes('root 1'), 1);
    await store.putMetadata(GUN, 'timestamp', bytes('t9'), 9);
    await store.putMetadata(GUN, 'snapshot', bytes('s2'), 2);
    await store.putMetadata(GUN, 'snapshot', bytes('s3'), 3, ['timestamp']);
    await store.putMetadata(GUN, 'targets', bytes('targets 1'), 1, ['timestamp']);
    t.same(await floorsOf(store), { root: 1, timestamp: 9, snapshot: 3, targets: 1 });
  });

  await t.test('a repository never written has no floor at all', async (t) => {
    const store = make();
    await store.putMetadata(GUN, 'root', bytes('root 1'), 1);
    const none = await store.getVersions(`${GUN}-never`);
    t.equal(none.size, 0);
  });
}

t.test('memory store', (t) => resets(t, () => new MemoryTrustStore()));

t.test('directory store', async (t) => {
  let n = 0;
  await resets(t, () => new DirectoryTrustStore(join(dir.path, `resets-${n++}`)));

  await t.test('an empty directory has no floor for any repository', async (t) => {
    const store = new DirectoryTrustStore(join(dir.path, 'empty'));
    t.equal((await store.getVersions(GUN)).size, 0);
  });

  // a refresh re-stores what it read: that must not wait for (or take) the lock, so a store that is
  // only read can serve while an import holds it
  await t.test('storing the same bytes at the same version again takes no lock', async (t) => {
    const path = join(dir.path, 'locked');
    let waited = 0;
    const store = new DirectoryTrustStore(path, { timeoutMs: 0, onWait: () => waited++ });
    await store.putMetadata(GUN, 'root', bytes('root 1'), 1);
    await store.putMetadata(GUN, 'timestamp', bytes('t4'), 4);
    // held by a live process on this host (this one): a writer has to wait for it
    writeFileSync(join(path, '_lock'), JSON.stringify({ pid: process.pid, host: hostname(), since: new Date(0).toISOString() }), { mode: 0o600 });
    await store.putMetadata(GUN, 'timestamp', bytes('t4'), 4);
    await store.putMetadata(GUN, 'root', bytes('root 1'), 1, RESETS);
    await store.putAll([]);
    t.equal(waited, 0);
    // a write that does change something waits for the holder
    await t.rejects(store.putMetadata(GUN, 'timestamp', bytes('t5'), 5), StoreLockedError);
    t.equal(waited, 1);
    t.same(await floorsOf(store), { root: 1, timestamp: 4 });
  });

  await t.test('a file found missing is written again at the same version', async (t) => {
    const path = join(dir.path, 'lost');
    const store = new DirectoryTrustStore(path);
    await store.putMetadata(GUN, 'timestamp', bytes('t4'), 4);
    const fresh = new DirectoryTrustStore(path);
    const files = join(path, ...GUN.split('/'), '_tuf');
    writeFileSync(join(files, readdirSync(files)[0] as string), 'altered');
    t.equal(await fresh.getMetadata(GUN, 'timestamp'), undefined);
    await fresh.putMetadata(GUN, 'timestamp', bytes('t4'), 4);
    t.same(await fresh.getMetadata(GUN, 'timestamp'), bytes('t4'));
    t.same(await floorsOf(fresh), { timestamp: 4 });
  });
});

t.test('staging store', async (t) => {
  await resets(t, () => new StagingTrustStore(new MemoryTrustStore()));

  await t.test('reports the real store floor when it rose above a staged one', async (t) => {
    const site = new MemoryTrustStore();
    const staging = new StagingTrustStore(site);
    await staging.putMetadata(GUN, 'timestamp', bytes('t5'), 5);
    await site.putMetadata(GUN, 'timestamp', bytes('t9'), 9); // another writer, meanwhile
    t.same(await floorsOf(staging), { timestamp: 9 });
    await staging.putMetadata(GUN, 'timestamp', bytes('t6'), 6);
    t.same(staging.pending.map((w) => w.version), [5], 'nothing below the site floor is staged');
  });

  await t.test('reports a staged floor of 0 for a role the real store lacks', async (t) => {
    const staging = new StagingTrustStore(new MemoryTrustStore());
    await staging.putMetadata(GUN, 'targets/releases', bytes('unreadable version'), 0);
    t.same(await floorsOf(staging), { 'targets/releases': 0 });
  });
});

// serve's watch over a trust.bundles directory: an import's index change forgets the repositories it
// changed; a change of the Sigstore tag records (an import or `sigstore accept-tag`) forgets every
// answer. Real files in a temp directory, written by the stores that write them in production.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { DirectoryTrustStore } from '../../src/cache/directory-store.js';
import { BundleIndexWatch } from '../../src/cache/index-watch.js';
import { DirectoryTagRecords } from '../../src/sigstore/tag-history-dir.js';
import { tempDir } from '../helpers/process.js';

const dir = tempDir('index-watch');
t.teardown(dir.remove);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const DIGEST = `sha256:${'a'.repeat(64)}`;
let n = 0;

async function watched(t: Test) {
  const path = join(dir.path, `bundles-${n++}`);
  mkdirSync(path, { mode: 0o755 });
  const store = new DirectoryTrustStore(path);
  await store.putMetadata('docker.io/library/before', 'root', Buffer.from('root before'), 1);
  const forgotten: (readonly string[] | 'all')[] = [];
  const watch = await BundleIndexWatch.start({ dir: path, store, forget: (guns) => void forgotten.push(guns ?? 'all') });
  t.teardown(() => watch.close());
  return { path, store, forgotten };
}

/** Wait (at most 10 s) until `probe` holds. */
async function until(probe: () => boolean): Promise<boolean> {
  for (let i = 0; i < 200 && !probe(); i++) await sleep(50);
  return probe();
}

t.test('an index change forgets only the repositories whose files changed', async (t) => {
  const { store, forgotten } = await watched(t);
  await store.putMetadata('docker.io/library/imported', 'root', Buffer.from('root imported'), 1);
  t.ok(await until(() => forgotten.length > 0), 'noticed');
  t.same(forgotten[0], ['docker.io/library/imported']);
});

t.test('a change of the Sigstore tag records forgets every answer', async (t) => {
  const { path, store, forgotten } = await watched(t);
  const records = new DirectoryTagRecords(path, (fn) => store.exclusive(fn));
  await records.reset('docker.io/acme/app', 'v1', DIGEST);
  t.ok(await until(() => forgotten.includes('all')), 'noticed');
  t.notOk(forgotten.some((f) => Array.isArray(f)), 'the trust index did not change');
});

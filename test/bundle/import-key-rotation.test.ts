// A bundle whose new root replaced the timestamp and snapshot keys restarts their versions low: the
// import must drop the site's old floors for them with the root (TUF 5.3.11), as the serve path does,
// and not refuse the recovery as a rollback. A bundle without the rotation stays refused.

import t from 'tap';
import { DirectoryTrustStore } from '../../src/cache/directory-store.js';
import { BadVersionError } from '../../src/errors.js';
import { exportOk, freshPaths, importInto, offlineSite, refusedWith, simulated } from '../helpers/airgap.js';
import { tempDir } from '../helpers/process.js';
import { SimKey, type RepoSimulator } from '../helpers/simulator.js';

const dir = tempDir('import-key-rotation');
t.teardown(dir.remove);
const fresh = freshPaths(dir.path);

/** Publish until the timestamp and snapshot are at version 6 or higher. */
function raiseVersions(sim: RepoSimulator): void {
  while ((sim.signed.timestamp.version as number) < 6) sim.publish();
}

/** New timestamp and snapshot keys in a new root; their versions restart at 1. */
function rotateTimestampSnapshotKeys(sim: RepoSimulator): void {
  sim.keys.timestamp = [SimKey.generate('ed25519')];
  sim.keys.snapshot = [SimKey.generate('ed25519')];
  sim.signed.timestamp.version = 0;
  sim.signed.snapshot.version = 0;
  sim.publishRoot();
  sim.publish();
}

const bundleOf = (url: string, name: string) => exportOk(['library/app'], { out: fresh(name) + '.tar', notary: url });
const floorsOf = async (store: string, gun: string) => Object.fromEntries(await new DirectoryTrustStore(store).getVersions(gun));

t.test('a root rotation that restarts the timestamp and snapshot versions imports over higher floors', async (t) => {
  const { sim, url } = await simulated(t, 'docker.io/library/app');
  raiseVersions(sim);
  const site = offlineSite(fresh('site'));
  refusedWith(t, await importInto(await bundleOf(url, 'before'), site.path), []);
  t.match(await floorsOf(site.store, sim.gun), { root: 1, timestamp: 6, snapshot: 6 });

  rotateTimestampSnapshotKeys(sim);
  const r = await importInto(await bundleOf(url, 'rotated'), site.path);
  refusedWith(t, r, []);
  t.same(r.verified.map((v) => [v.gun, v.rootVersion]), [[sim.gun, 2]]);
  t.match(await floorsOf(site.store, sim.gun), { root: 2, timestamp: 1, snapshot: 1 }, 'the floors restarted with the new keys');
});

t.test('without a key rotation, the same low versions stay a rollback', async (t) => {
  const { sim, url } = await simulated(t, 'docker.io/library/app');
  raiseVersions(sim);
  const site = offlineSite(fresh('site'));
  refusedWith(t, await importInto(await bundleOf(url, 'before'), site.path), []);

  // a new root (same timestamp and snapshot keys) over versions set back: nothing to reset
  sim.signed.timestamp.version = 0;
  sim.signed.snapshot.version = 0;
  sim.publishRoot();
  sim.publish();
  refusedWith(t, await importInto(await bundleOf(url, 'rolled-back'), site.path), [[sim.gun, BadVersionError, 'ROLLBACK']]);
  t.match(await floorsOf(site.store, sim.gun), { root: 1, timestamp: 6, snapshot: 6 }, 'nothing written');
});

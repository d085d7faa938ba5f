// The update workflow's root handling (notary client/tufclient.go updateRoot): rollbacks of the root
// itself, bounded walks through N.root.json, the stored floors, and a stored root that no longer loads.

import t from 'tap';
import { MemoryTrustStore } from '../../src/cache/trust-store.js';
import { BadVersionError, DeserializationError, RootRotationError } from '../../src/errors.js';
import { TrustUpdater, type UpdaterEvent } from '../../src/notary/updater.js';
import { NO_PINNING } from '../../src/trust/index.js';
import { RepoSimulator, SimKey } from '../helpers/simulator.js';
import { rejectsWith, trustedRepo, updaterFor } from '../helpers/trust.js';

/** Rotate to a new root key, the new root signed by the previous key too (or not, `unlinked`). */
function rotate(sim: RepoSimulator, unlinked = false): void {
  sim.rootCosigners = unlinked ? [] : [sim.keys.root[0] as SimKey];
  sim.keys.root = [SimKey.generate('ecdsa-x509', { cn: sim.gun })];
  sim.publishRoot();
}

const withLimits = (sim: RepoSimulator, store: MemoryTrustStore, limits: ConstructorParameters<typeof TrustUpdater>[0]['limits']) =>
  new TrustUpdater({ fetcher: sim, store, pinning: NO_PINNING, limits });

t.test('a rotation is stored at its version and reported', async (t) => {
  const { sim, store } = await trustedRepo();
  rotate(sim);
  sim.publish();
  const events: UpdaterEvent[] = [];
  await updaterFor(sim, { store, events }).refresh(sim.gun);
  t.same(events.filter((e) => e.type === 'root-rotated'), [{ type: 'root-rotated', gun: sim.gun, from: 1, to: 2 }]);
  t.equal((await store.getVersions(sim.gun)).get('root'), 2);
  t.same(await store.getMetadata(sim.gun, 'root'), sim.files.get('2.root'));
});

t.test('Notary serving an older root than the trusted one: a rollback', async (t) => {
  const { sim, store } = await trustedRepo();
  const v1 = sim.files.get('1.root') as Buffer;
  rotate(sim);
  rotate(sim);
  sim.publish();
  await updaterFor(sim, { store }).refresh(sim.gun); // now trusts version 3
  sim.overrides.set('root', v1);
  sim.beforeSign.set('snapshot', (s) => ((s.meta as Record<string, unknown>).root = { hashes: { sha256: Buffer.alloc(32).toString('base64') }, length: 1 }));
  sim.publish(); // the snapshot no longer matches the trusted root: the updater looks for a newer one
  const err = await rejectsWith(t, updaterFor(sim, { store }).refresh(sim.gun), BadVersionError, 'ROLLBACK');
  t.equal(err.role, 'root');
});

t.test('a walk through intermediate roots is bounded by maxRootRotations', async (t) => {
  const { sim, store } = await trustedRepo();
  rotate(sim);
  rotate(sim); // version 3 is not signed by version 1's key: the updater must walk 2.root
  sim.publish();
  await rejectsWith(t, withLimits(sim, store, { maxRootRotations: 1 }).refresh(sim.gun), RootRotationError, 'ROOT_ROTATION_FAILED');
  const r = await withLimits(sim, store, { maxRootRotations: 2 }).refresh(sim.gun);
  t.equal(r.set.root.root.version, 3, 'two versions ahead, within a limit of two');
});

t.test('an intermediate root that Notary does not have: the rotation fails', async (t) => {
  const { sim, store } = await trustedRepo();
  rotate(sim);
  rotate(sim);
  sim.publish();
  sim.files.delete('2.root');
  const err = await rejectsWith(t, updaterFor(sim, { store }).refresh(sim.gun), RootRotationError, 'ROOT_ROTATION_FAILED');
  t.ok(err.cause instanceof RootRotationError, 'caused by the direct rotation failing');
});

t.test('a newest root with no path from the trusted one: refused', async (t) => {
  const { sim, store } = await trustedRepo();
  rotate(sim);
  rotate(sim, true); // version 3 signed only by its own key
  sim.publish();
  await rejectsWith(t, updaterFor(sim, { store }).refresh(sim.gun), RootRotationError, 'ROOT_ROTATION_FAILED');
});

t.test('a root floor above the root a rotation reaches: a rollback', async (t) => {
  const { sim, store } = await trustedRepo();
  const floorStore = new MemoryTrustStore();
  await floorStore.putMetadata(sim.gun, 'root', sim.files.get('1.root') as Buffer, 5); // another replica saw version 5
  rotate(sim);
  sim.publish();
  const err = await rejectsWith(t, updaterFor(sim, { store: floorStore }).refresh(sim.gun), BadVersionError, 'ROLLBACK');
  t.equal(err.role, 'root');
  t.equal((await updaterFor(sim, { store }).refresh(sim.gun)).set.root.root.version, 2, 'without the higher floor the rotation is fine');
});

// notary client.go bootstrapClient: "if we can't load the cached root, fail hard because that is how
// we pin trust" — a damaged stored root is refused, never replaced by a first contact (a Redis writer
// can deny service, not restart trust; README, Security model).
t.test('a stored root that no longer parses: refused, and not replaced by the root Notary serves', async (t) => {
  const { sim, store } = await trustedRepo();
  const damaged = Buffer.from('{"damaged":');
  await store.putMetadata(sim.gun, 'root', damaged, 1);
  await rejectsWith(t, updaterFor(sim, { store }).refresh(sim.gun), DeserializationError, 'METADATA_MALFORMED');
  t.same(await store.getMetadata(sim.gun, 'root'), damaged, 'the stored root is left as it was');
});

t.test('a stored root that no longer parses: refused even when Notary serves a newer, linked root', async (t) => {
  const { sim, store } = await trustedRepo();
  await store.putMetadata(sim.gun, 'root', Buffer.from('{"damaged":'), 1);
  rotate(sim);
  sim.publish();
  await rejectsWith(t, updaterFor(sim, { store }).refresh(sim.gun), DeserializationError, 'METADATA_MALFORMED');
  t.equal((await store.getVersions(sim.gun)).get('root'), 1, 'the root floor is not raised by a root never trusted');
});

t.test('trust pinning given per repository', async (t) => {
  const sim = new RepoSimulator();
  sim.addTarget('targets', 'v1', 'manifest v1');
  sim.publish();
  const asked: string[] = [];
  const u = new TrustUpdater({
    fetcher: sim,
    store: new MemoryTrustStore(),
    pinning: (gun) => {
      asked.push(gun);
      return { keys: new Map([[gun, [(sim.keys.root[0] as SimKey).id]]]), ca: new Map(), disableTOFU: true };
    },
  });
  t.equal((await u.refresh(sim.gun)).set.root.pinMode, 'keys');
  t.same(asked, [sim.gun]);
});

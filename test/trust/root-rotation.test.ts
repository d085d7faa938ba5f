// A rotated root must satisfy both rules of notary trustpinning/certs.go ValidateRoot: signed by the
// trusted root's keys at the trusted threshold, and signed by its own root keys at its own threshold.
// Signatures by the old keys alone, or fewer of its own keys than it requires, are refused.

import t from 'tap';
import { RootRotationError, UnsignedMetadataError } from '../../src/errors.js';
import { NO_PINNING, TrustedMetadataSet } from '../../src/trust/index.js';
import { RepoSimulator, SimKey, type SigJson } from '../helpers/simulator.js';
import { rejectsWith, throwsWith, trustedRepo, updaterFor } from '../helpers/trust.js';

const newRootKey = (sim: RepoSimulator) => SimKey.generate('ecdsa-x509', { cn: sim.gun });
const without = (ids: string[]) => (sigs: SigJson[]) => sigs.filter((s) => !ids.includes(s.keyid));

/** The engine alone: trust root v1, then rotate to v2 as published. */
function rotateInEngine(sim: RepoSimulator): void {
  const ctx = { gun: sim.gun, now: sim.now, pinning: NO_PINNING };
  const set = TrustedMetadataSet.fromRoot(sim.files.get('1.root') as Buffer, ctx, false);
  set.updateRoot(sim.files.get('2.root') as Buffer, { final: true });
}

t.test("a new root signed only by the old root's key, not by its own: refused", async (t) => {
  const { sim, store, k1 } = await trustedRepo();
  const k2 = newRootKey(sim);
  sim.keys.root = [k2];
  sim.rootCosigners = [k1];
  sim.signatureHooks.set('root', without([k2.id]));
  sim.publishRoot();
  sim.publish();
  const err = throwsWith(t, () => rotateInEngine(sim), UnsignedMetadataError, 'SIGNATURE_THRESHOLD');
  t.equal(err.role, 'root');
  const viaUpdater = await rejectsWith(t, updaterFor(sim, { store }).refresh(sim.gun), UnsignedMetadataError, 'SIGNATURE_THRESHOLD');
  t.equal(viaUpdater.role, 'root');
});

t.test('a new root with threshold 2 signed by one of its own keys (and the old key): refused', async (t) => {
  const { sim, store, k1 } = await trustedRepo();
  const [k2, k3] = [newRootKey(sim), newRootKey(sim)];
  sim.keys.root = [k2, k3];
  sim.thresholds.root = 2;
  sim.rootCosigners = [k1];
  sim.signatureHooks.set('root', without([k3.id]));
  sim.publishRoot();
  sim.publish();
  throwsWith(t, () => rotateInEngine(sim), UnsignedMetadataError, 'SIGNATURE_THRESHOLD');
  await rejectsWith(t, updaterFor(sim, { store }).refresh(sim.gun), UnsignedMetadataError, 'SIGNATURE_THRESHOLD');
});

t.test('a new root with threshold 2 that keeps the old key: the old signature counts once', async (t) => {
  const { sim, store, k1 } = await trustedRepo();
  const k2 = newRootKey(sim);
  sim.keys.root = [k1, k2];
  sim.thresholds.root = 2;
  sim.signatureHooks.set('root', without([k2.id]));
  sim.publishRoot();
  sim.publish();
  throwsWith(t, () => rotateInEngine(sim), UnsignedMetadataError, 'SIGNATURE_THRESHOLD');
  await rejectsWith(t, updaterFor(sim, { store }).refresh(sim.gun), UnsignedMetadataError, 'SIGNATURE_THRESHOLD');
});

t.test('a new root signed by its own keys only, not by the old key: refused as a failed rotation', async (t) => {
  const { sim, store } = await trustedRepo();
  sim.keys.root = [newRootKey(sim)];
  sim.publishRoot();
  sim.publish();
  throwsWith(t, () => rotateInEngine(sim), RootRotationError, 'ROOT_ROTATION_FAILED');
  await rejectsWith(t, updaterFor(sim, { store }).refresh(sim.gun), RootRotationError, 'ROOT_ROTATION_FAILED');
});

t.test('signed by the old key and by its own keys at its threshold: accepted (control)', async (t) => {
  const { sim, store, k1 } = await trustedRepo();
  const [k2, k3] = [newRootKey(sim), newRootKey(sim)];
  sim.keys.root = [k2, k3];
  sim.thresholds.root = 2;
  sim.rootCosigners = [k1];
  sim.publishRoot();
  sim.publish();
  t.doesNotThrow(() => rotateInEngine(sim));
  const r = await updaterFor(sim, { store }).refresh(sim.gun);
  t.equal(r.set.root.root.version, 2);
  t.same([...r.set.root.signers].sort(), [k2.id, k3.id].sort(), 'its own keys are the signers it records');
});

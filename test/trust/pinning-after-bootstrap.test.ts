// Trust pinning applies to every root, not only the first one a proxy sees (notary
// trustpinning/certs.go ValidateRoot runs the pin check on each new root): a rotated root must match
// the pins, and so must a root stored under trust on first use before a pin was configured. Only a
// disabled TOFU with nothing pinned spares a root trusted before (covered in attacks.test.ts).

import t from 'tap';
import { MemoryTrustStore } from '../../src/cache/trust-store.js';
import { TrustPinningError } from '../../src/errors.js';
import type { UpdaterEvent } from '../../src/notary/updater.js';
import { NO_PINNING, parseCertificate, TrustedMetadataSet, type TrustPinning } from '../../src/trust/index.js';
import { RepoSimulator, SimKey } from '../helpers/simulator.js';
import { rejectsWith, throwsWith, updaterFor } from '../helpers/trust.js';
import { ecKeyPair, makeCertificate } from '../helpers/x509.js';

const GUN = 'docker.io/library/sim';
const pinKeys = (...ids: string[]): TrustPinning => ({ keys: new Map([[GUN, ids]]), ca: new Map(), disableTOFU: false });

function repo(rootKey?: SimKey): RepoSimulator {
  const sim = new RepoSimulator(GUN, rootKey);
  sim.addTarget('targets', 'v1', 'manifest v1');
  sim.publish();
  return sim;
}

/** Rotate `sim` to a root signed by `next` (its new key) and the current root key. */
function rotate(sim: RepoSimulator, next: SimKey): void {
  sim.rootCosigners = [sim.keys.root[0] as SimKey];
  sim.keys.root = [next];
  sim.publishRoot();
  sim.publish();
}

function rotateInEngine(sim: RepoSimulator, pinning: TrustPinning): void {
  const set = TrustedMetadataSet.fromRoot(sim.files.get('1.root') as Buffer, { gun: GUN, now: sim.now, pinning }, false);
  set.updateRoot(sim.files.get('2.root') as Buffer, { final: true });
}

// ---- a rotated root ------------------------------------------------------------------------

t.test('pinned key IDs: a rotation to an unpinned key is refused', async (t) => {
  const sim = repo();
  const k1 = sim.keys.root[0] as SimKey;
  const store = new MemoryTrustStore();
  await updaterFor(sim, { store, pinning: pinKeys(k1.id) }).refresh(GUN);
  const k2 = SimKey.generate('ecdsa-x509', { cn: GUN });
  rotate(sim, k2);
  throwsWith(t, () => rotateInEngine(sim, pinKeys(k1.id)), TrustPinningError, 'PINNING_FAILED');
  await rejectsWith(t, updaterFor(sim, { store, pinning: pinKeys(k1.id) }).refresh(GUN), TrustPinningError, 'PINNING_FAILED');

  t.doesNotThrow(() => rotateInEngine(sim, pinKeys(k1.id, k2.id)), 'both keys pinned (control)');
  const r = await updaterFor(sim, { store, pinning: pinKeys(k1.id, k2.id) }).refresh(GUN);
  t.equal(r.set.root.root.version, 2);
});

t.test('a pinned CA: a rotation to a root certificate it did not issue is refused', async (t) => {
  const ca = ecKeyPair();
  const caCert = parseCertificate(makeCertificate({ subjectCN: 'CA', publicKey: ca.publicKey, issuerKey: ca.privateKey, isCA: true }));
  const pinCa: TrustPinning = { keys: new Map(), ca: new Map([['docker.io/', [caCert]]]), disableTOFU: true };
  const sim = repo(SimKey.generate('ecdsa-x509', { cn: GUN, issuer: { key: ca.privateKey, cn: 'CA' } }));
  const store = new MemoryTrustStore();
  await updaterFor(sim, { store, pinning: pinCa }).refresh(GUN);
  rotate(sim, SimKey.generate('ecdsa-x509', { cn: GUN })); // self-signed
  throwsWith(t, () => rotateInEngine(sim, pinCa), TrustPinningError, 'PINNING_FAILED');
  await rejectsWith(t, updaterFor(sim, { store, pinning: pinCa }).refresh(GUN), TrustPinningError, 'PINNING_FAILED');
});

t.test('a pinned CA: a rotation to another certificate it issued is accepted (control)', async (t) => {
  const ca = ecKeyPair();
  const caCert = parseCertificate(makeCertificate({ subjectCN: 'CA', publicKey: ca.publicKey, issuerKey: ca.privateKey, isCA: true }));
  const pinCa: TrustPinning = { keys: new Map(), ca: new Map([['docker.io/', [caCert]]]), disableTOFU: true };
  const issued = () => SimKey.generate('ecdsa-x509', { cn: GUN, issuer: { key: ca.privateKey, cn: 'CA' } });
  const sim = repo(issued());
  const store = new MemoryTrustStore();
  await updaterFor(sim, { store, pinning: pinCa }).refresh(GUN);
  rotate(sim, issued());
  t.equal((await updaterFor(sim, { store, pinning: pinCa }).refresh(GUN)).set.root.root.version, 2);
});

// ---- a root stored under trust on first use, before a pin was added -----------------------------

async function storedUnderTofu(sim: RepoSimulator): Promise<MemoryTrustStore> {
  const store = new MemoryTrustStore();
  await updaterFor(sim, { store, pinning: NO_PINNING }).refresh(GUN);
  return store;
}

t.test('a root stored under TOFU, then a key pin that does not match it: refused', async (t) => {
  const sim = repo();
  const store = await storedUnderTofu(sim);
  const events: UpdaterEvent[] = [];
  const pinning = pinKeys('b'.repeat(64));
  await rejectsWith(t, updaterFor(sim, { store, pinning, events }).refresh(GUN), TrustPinningError, 'PINNING_FAILED');
  const rejected = events.find((e) => e.type === 'stored-root-rejected');
  t.ok(rejected?.type === 'stored-root-rejected' && rejected.cause instanceof TrustPinningError, 'the stored root itself was refused');
  const storedRoot = (await store.getMetadata(GUN, 'root')) as Buffer;
  const ctx = { gun: GUN, now: sim.now, pinning };
  throwsWith(t, () => TrustedMetadataSet.fromRoot(storedRoot, ctx, true), TrustPinningError, 'PINNING_FAILED');
});

t.test('a root stored under TOFU, then a CA pin it does not chain to: refused', async (t) => {
  const sim = repo();
  const store = await storedUnderTofu(sim);
  const ca = ecKeyPair();
  const caCert = parseCertificate(makeCertificate({ subjectCN: 'CA', publicKey: ca.publicKey, issuerKey: ca.privateKey, isCA: true }));
  const pinning: TrustPinning = { keys: new Map(), ca: new Map([[GUN, [caCert]]]), disableTOFU: false };
  await rejectsWith(t, updaterFor(sim, { store, pinning }).refresh(GUN), TrustPinningError, 'PINNING_FAILED');
});

t.test('a root stored under TOFU, then a pin that matches it: still trusted (control)', async (t) => {
  const sim = repo();
  const store = await storedUnderTofu(sim);
  const events: UpdaterEvent[] = [];
  await updaterFor(sim, { store, pinning: pinKeys((sim.keys.root[0] as SimKey).id), events }).refresh(GUN);
  t.notOk(events.some((e) => e.type === 'stored-root-rejected'));
});

// The trust state the update workflow keeps, through the simulator (what a real Notary cannot be made
// to produce: a compromised key signing any version) and a clock the test moves:
//   - a stored root whose certificate expired, or that a pin added since does not match, is never
//     replaced by a first contact; only a rotation signed by its keys is accepted;
//   - a delegation that fails its signatures never raises its floor;
//   - new timestamp/snapshot keys in a verified root drop their floors (TUF 5.3.11), other rotations
//     keep them.

import t from 'tap';
import { MemoryTrustStore } from '../../src/cache/trust-store.js';
import { BadVersionError, CertificateError, TrustPinningError } from '../../src/errors.js';
import type { MetadataFetcher } from '../../src/notary/remote.js';
import { canonicalKeyId, keyIdOf } from '../../src/trust/index.js';
import { RepoSimulator, SimKey, sha256Hex } from '../helpers/simulator.js';
import { rejectsWith, updaterFor } from '../helpers/trust.js';

const HOUR = 3_600_000;
const GUN = 'docker.io/library/sim';
const MAX = Number.MAX_SAFE_INTEGER;

/** A Notary whose answers the test switches between the honest repository and a forged one. */
function switchable(first: RepoSimulator): MetadataFetcher & { to: RepoSimulator } {
  const f = { origin: 'switch', to: first, fetch: (gun: string, name: string, max: number) => f.to.fetch(gun, name, max) };
  return f;
}

function honest(rootKey?: SimKey): RepoSimulator {
  const sim = new RepoSimulator(GUN, rootKey);
  sim.addDelegation('targets/releases');
  sim.addTarget('targets', 'v1', 'honest v1');
  sim.addTarget('targets/releases', 'v2', 'honest v2');
  sim.publish();
  return sim;
}

function forged(): RepoSimulator {
  const sim = new RepoSimulator(GUN); // another root key, same GUN
  sim.addTarget('targets', 'v1', 'attacker v1');
  sim.publish();
  return sim;
}

/** The honest owner rotates the root key: the new root is signed by the old key and the new one. */
function rotateRootKey(sim: RepoSimulator): void {
  const old = sim.keys.root[0] as SimKey;
  sim.keys.root = [SimKey.generate('ecdsa-x509', { cn: GUN })];
  sim.rootCosigners = [old];
  sim.publishRoot();
  sim.rootCosigners = [];
  sim.publish();
}

t.test('a root certificate that expires between two refreshes never restarts trust on first use', async (t) => {
  const now = Date.now();
  let clock = now;
  const sim = honest(SimKey.generate('ecdsa-x509', { cn: GUN, notAfter: new Date(now + HOUR) }));
  const notary = switchable(sim);
  const store = new MemoryTrustStore();
  const u = updaterFor(notary, { store, clock: () => new Date(clock) });
  t.equal((await u.resolve(GUN, 'v1')).digest, `sha256:${sha256Hex(Buffer.from('honest v1'))}`);

  clock = now + 2 * HOUR; // the certificate expired; the timestamp (14 days) has not
  notary.to = forged();
  const err = await rejectsWith(t, u.resolve(GUN, 'v1'), CertificateError, 'CERTIFICATE_INVALID');
  const fault = (err as CertificateError).certificate;
  t.same({ name: fault?.name, keyId: fault?.keyId }, { name: GUN, keyId: sim.keys.root[0]?.id }, 'names the certificate');
  t.ok(fault?.expired && fault.expired.getTime() <= now + HOUR, 'and since when');
  t.same(await store.getMetadata(GUN, 'root'), sim.files.get('root'), 'the trusted root stays');
  t.ok(([...u.rootCertificateExpiries()][0]?.expires ?? Infinity) <= now + HOUR, 'the metric source says it expired');

  notary.to = sim; // the honest Notary serves the same root: still refused, never started over
  await rejectsWith(t, u.resolve(GUN, 'v1'), CertificateError, 'CERTIFICATE_INVALID');

  rotateRootKey(sim); // the owner rotates the root key: signed by the old key and the new one
  const r = await u.resolve(GUN, 'v1');
  t.equal(r.refresh.set.root.root.version, 2, 'the rotation is followed');
  t.equal(r.digest, `sha256:${sha256Hex(Buffer.from('honest v1'))}`);
  t.ok(([...u.rootCertificateExpiries()][0]?.expires ?? 0) > clock + 300 * 24 * HOUR, 'and the new certificate is what the metric reports');
});

t.test('a stored root that a pin added since does not match: refused, never started over; a rotation to the pinned key is followed', async (t) => {
  const sim = honest();
  const notary = switchable(sim);
  const store = new MemoryTrustStore();
  await updaterFor(notary, { store }).refresh(GUN);
  const attacker = forged();
  const pinTo = (key: SimKey) => ({ keys: new Map([[GUN, [canonicalKeyId(key as never) ?? keyIdOf(key.keyType, key.publicBytes)]]]), ca: new Map(), disableTOFU: false });
  const attackerKey = attacker.keys.root[0] as SimKey;
  notary.to = attacker;
  // even a pin that names the attacker's key does not let a first contact replace the trusted root
  await rejectsWith(t, updaterFor(notary, { store, pinning: pinTo(attackerKey) }).refresh(GUN), TrustPinningError, 'PINNING_FAILED');
  t.same(await store.getMetadata(GUN, 'root'), sim.files.get('root'));

  notary.to = sim;
  rotateRootKey(sim);
  const pinned = sim.keys.root[0] as SimKey;
  const r = await updaterFor(notary, { store, pinning: pinTo(pinned) }).refresh(GUN);
  t.equal(r.set.root.root.version, 2, 'the owner rotated to the pinned key: followed');
});

t.test('an under-signed delegation with a huge version never raises its floor; the fix is accepted', async (t) => {
  const sim = honest();
  const store = new MemoryTrustStore();
  const u = updaterFor(sim, { store });
  await u.resolve(GUN, 'v2');
  const releases = sim.delegation('targets/releases');
  releases.signed.version = MAX - 1; // a snapshot-key holder publishes it, signed by nobody
  sim.signatureHooks.set('targets/releases', () => []);
  sim.publish();
  await u.refresh(GUN); // left out, as notary leaves it out
  t.equal((await store.getVersions(GUN)).get('targets/releases'), 1, 'the floor stays at the last verified version');

  sim.signatureHooks.clear();
  releases.signed.version = 1;
  sim.publish(); // the owner re-signs at version 2
  const r = await u.resolve(GUN, 'v2');
  t.equal(r.role, 'targets/releases', 'the fix is served');
  t.equal((await store.getVersions(GUN)).get('targets/releases'), 2);
});

t.test('new timestamp keys in a verified root drop the timestamp/snapshot floors; other rotations keep them', async (t) => {
  const sim = honest();
  const store = new MemoryTrustStore();
  const u = updaterFor(sim, { store });
  sim.signed.timestamp.version = MAX - 1; // the compromised timestamp key signs the highest version
  sim.publish();
  await u.refresh(GUN);
  t.equal((await store.getVersions(GUN)).get('timestamp'), MAX);

  sim.signed.timestamp.version = 4; // the server's next timestamp after the rotation
  sim.publish();
  await rejectsWith(t, u.refresh(GUN), BadVersionError, 'ROLLBACK'); // blocked until the key rotates

  sim.keys.timestamp = [SimKey.generate('ed25519')]; // notary key rotate GUN timestamp -r
  sim.publishRoot();
  sim.publish();
  const r = await u.refresh(GUN);
  t.equal(r.set.timestamp?.data.version, 6, 'served again after the rotation');
  t.equal((await store.getVersions(GUN)).get('timestamp'), 6, 'the floor starts over under the new key');

  const replay = sim.files.get('timestamp') as Buffer;
  sim.keys.targets = [SimKey.generate('ecdsa')]; // a rotation of another role's key
  sim.publishRoot();
  sim.publish();
  await u.refresh(GUN);
  sim.overrides.set('timestamp', replay);
  await rejectsWith(t, u.refresh(GUN), BadVersionError, 'ROLLBACK'); // the timestamp floor was kept
});

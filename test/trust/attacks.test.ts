// Attacks a real Notary server cannot be made to produce, through the simulator. One test per attack;
// each asserts the error class and code, and most show the honest answer is served again afterwards.

import t from 'tap';
import { MemoryTrustStore } from '../../src/cache/trust-store.js';
import {
  BadVersionError,
  CertificateError,
  DelegationError,
  DeserializationError,
  ExpiredMetadataError,
  FileTooLargeError,
  KeyIdMismatchError,
  LengthOrHashMismatchError,
  NoTrustDataError,
  RootRotationError,
  TagNotSignedError,
  TrustPinningError,
  UnreachableError,
  UnsignedMetadataError,
  WrongTypeError,
} from '../../src/errors.js';
import { NotaryRemote } from '../../src/notary/remote.js';
import { canonicalBytes, canonicalKeyId, keyIdOf, parseCertificate, type JsonObject } from '../../src/trust/index.js';
import { RepoSimulator, SimKey, sha256Hex } from '../helpers/simulator.js';
import { rejectsWith, updaterFor } from '../helpers/trust.js';
import { ecKeyPair, makeCertificate } from '../helpers/x509.js';

const DAY = 86_400_000;

/** A repository with `v1` in targets and `v2` in targets/releases. */
function repo(rootKey?: SimKey): RepoSimulator {
  const sim = new RepoSimulator('docker.io/library/sim', rootKey);
  sim.addDelegation('targets/releases');
  sim.addTarget('targets', 'v1', 'manifest v1');
  sim.addTarget('targets/releases', 'v2', 'manifest v2');
  sim.publish();
  return sim;
}

t.test('baseline: the honest repository resolves both tags', async (t) => {
  const sim = repo();
  const u = updaterFor(sim);
  t.equal((await u.resolve(sim.gun, 'v1')).role, 'targets');
  const v2 = await u.resolve(sim.gun, 'v2');
  t.equal(v2.role, 'targets/releases');
  t.equal(v2.digest, `sha256:${sha256Hex(Buffer.from('manifest v2'))}`);
});

// ---- signatures ------------------------------------------------------------------------

t.test('bad signature', async (t) => {
  const sim = repo();
  sim.signatureHooks.set('targets', (sigs) => sigs.map((s) => ({ ...s, sig: Buffer.from(s.sig, 'base64').reverse().toString('base64') })));
  sim.publish();
  const err = await rejectsWith(t, updaterFor(sim).refresh(sim.gun), UnsignedMetadataError, 'SIGNATURE_THRESHOLD');
  t.equal(err.role, 'targets');
  sim.signatureHooks.clear();
  sim.publish();
  t.resolves(updaterFor(sim).resolve(sim.gun, 'v1'), 'the honest answer is served again');
});

t.test('below threshold', async (t) => {
  const sim = repo();
  sim.keys.targets.push(SimKey.generate('ecdsa'));
  sim.thresholds.targets = 2;
  sim.publishRoot();
  sim.signatureHooks.set('targets', (sigs) => sigs.slice(0, 1));
  sim.publish();
  await rejectsWith(t, updaterFor(sim).refresh(sim.gun), UnsignedMetadataError, 'SIGNATURE_THRESHOLD');
  sim.signatureHooks.clear();
  sim.publish();
  t.resolves(updaterFor(sim).refresh(sim.gun), 'two distinct signatures meet the threshold');
});

t.test("one key's signature counted twice", async (t) => {
  const sim = repo();
  sim.keys.targets.push(SimKey.generate('ecdsa'));
  sim.thresholds.targets = 2;
  sim.publishRoot();
  sim.signatureHooks.set('targets', (sigs) => [sigs[0], sigs[0]].filter((s) => s !== undefined));
  sim.publish();
  await rejectsWith(t, updaterFor(sim).refresh(sim.gun), UnsignedMetadataError, 'SIGNATURE_THRESHOLD');
});

t.test('a keyid that is not the key content ID', async (t) => {
  const sim = repo();
  const ts = sim.keys.timestamp[0] as SimKey;
  const fakeId = 'a'.repeat(64);
  sim.beforeSign.set('root', (s) => {
    const keys = s.keys as JsonObject;
    keys[fakeId] = keys[ts.id] as JsonObject;
    delete keys[ts.id];
    ((s.roles as JsonObject).timestamp as JsonObject).keyids = [fakeId];
  });
  sim.signatureHooks.set('timestamp', (sigs) => sigs.map((s) => ({ ...s, keyid: fakeId })));
  sim.publishRoot();
  sim.publish();
  await rejectsWith(t, updaterFor(sim).refresh(sim.gun), KeyIdMismatchError, 'KEY_ID_MISMATCH');
});

t.test('unknown signature method', async (t) => {
  const sim = repo();
  sim.signatureHooks.set('snapshot', (sigs) => sigs.map((s) => ({ ...s, method: 'ed448' })));
  sim.publish();
  const err = await rejectsWith(t, updaterFor(sim).refresh(sim.gun), UnsignedMetadataError, 'SIGNATURE_THRESHOLD');
  t.equal(err.role, 'snapshot');
});

t.test('method names are case-insensitive, as notary lower-cases them', async (t) => {
  const sim = repo();
  sim.signatureHooks.set('snapshot', (sigs) => sigs.map((s) => ({ ...s, method: 'EdDSA' })));
  sim.signatureHooks.set('targets', (sigs) => sigs.map((s) => ({ ...s, method: 'ECDSA' })));
  sim.publish();
  t.resolves(updaterFor(sim).resolve(sim.gun, 'v1'));
});

t.test('unknown key type', async (t) => {
  const sim = repo();
  const ts = sim.keys.timestamp[0] as SimKey;
  const oddId = keyIdOf('ed448', ts.publicBytes); // listed under its true content ID, so only the type is wrong
  sim.beforeSign.set('root', (s) => {
    const keys = s.keys as JsonObject;
    delete keys[ts.id];
    keys[oddId] = { keytype: 'ed448', keyval: { private: null, public: ts.publicBytes.toString('base64') } };
    ((s.roles as JsonObject).timestamp as JsonObject).keyids = [oddId];
  });
  sim.signatureHooks.set('timestamp', (sigs) => sigs.map((s) => ({ ...s, keyid: oddId })));
  sim.publishRoot();
  sim.publish();
  const err = await rejectsWith(t, updaterFor(sim).refresh(sim.gun), UnsignedMetadataError, 'SIGNATURE_THRESHOLD');
  t.equal(err.role, 'timestamp');
});

// ---- rollback ----------------------------------------------------------------------------

for (const role of ['timestamp', 'snapshot', 'targets', 'targets/releases'] as const) {
  t.test(`rollback of ${role}`, async (t) => {
    const sim = repo();
    const old = sim.files.get(role) as Buffer;
    sim.publish();
    const store = new MemoryTrustStore();
    await updaterFor(sim, { store }).refresh(sim.gun); // the store now remembers the newer versions
    if (role === 'timestamp') sim.overrides.set('timestamp', old);
    else sim.publish({ reuse: { [role]: old } }); // a validly signed parent that points at the old file
    const err = await rejectsWith(t, updaterFor(sim, { store }).refresh(sim.gun), BadVersionError, 'ROLLBACK');
    t.equal(err.role, role);
    sim.overrides.clear();
    sim.publish();
    t.resolves(updaterFor(sim, { store }).resolve(sim.gun, 'v2'), 'a later honest answer is served again');
  });
}

t.test('rollback memory survives a new updater on the same store (a restart)', async (t) => {
  const sim = repo();
  const old = sim.files.get('timestamp') as Buffer;
  sim.publish();
  sim.publish();
  const store = new MemoryTrustStore();
  await updaterFor(sim, { store }).refresh(sim.gun);
  sim.overrides.set('timestamp', old);
  await rejectsWith(t, updaterFor(sim, { store }).refresh(sim.gun), BadVersionError, 'ROLLBACK');
});

// ---- freeze (expiry) -----------------------------------------------------------------------

for (const role of ['timestamp', 'snapshot', 'targets'] as const) {
  t.test(`expired ${role}`, async (t) => {
    const sim = repo();
    sim.signed[role].expires = sim.expiresIn(-1);
    sim.publish();
    const err = await rejectsWith(t, updaterFor(sim).refresh(sim.gun), ExpiredMetadataError, 'EXPIRED');
    t.equal(err.role, role);
  });
}

t.test('freeze: an old but validly signed timestamp, judged at the reference time', async (t) => {
  const sim = repo();
  const later = new Date(Date.now() + 15 * DAY); // notary timestamps last 14 days
  const err = await rejectsWith(t, updaterFor(sim, { clock: () => later }).refresh(sim.gun), ExpiredMetadataError, 'EXPIRED');
  t.equal(err.role, 'timestamp');
});

t.test('expired root: refused on first contact, and when the trusted root expired with no newer one', async (t) => {
  const sim = repo();
  sim.signed.root.expires = sim.expiresIn(-1);
  sim.publishRoot();
  sim.publish();
  const first = await rejectsWith(t, updaterFor(sim).refresh(sim.gun), ExpiredMetadataError, 'EXPIRED');
  t.equal(first.role, 'root');

  const sim2 = repo();
  sim2.signed.root.expires = sim2.expiresIn(365);
  sim2.publishRoot();
  sim2.publish();
  const store = new MemoryTrustStore();
  await updaterFor(sim2, { store }).refresh(sim2.gun);
  const later = new Date(Date.now() + 400 * DAY); // the root metadata expired, its certificate did not
  const err = await rejectsWith(t, updaterFor(sim2, { store, clock: () => later }).refresh(sim2.gun), ExpiredMetadataError, 'EXPIRED');
  t.equal(err.role, 'root');
});

t.test('expired delegation: left out as notary does, so its tags are not signed', async (t) => {
  const sim = repo();
  sim.delegation('targets/releases').signed.expires = sim.expiresIn(-1);
  sim.publish();
  const err = await rejectsWith(t, updaterFor(sim).resolve(sim.gun, 'v2'), TagNotSignedError, 'NOT_SIGNED');
  t.ok(err.cause instanceof ExpiredMetadataError, 'the reason is the expired delegation');
  t.resolves(updaterFor(sim).resolve(sim.gun, 'v1'), 'tags in targets are unaffected');
});

t.test('under-signed delegation: left out, its tags not signed', async (t) => {
  const sim = repo();
  sim.signatureHooks.set('targets/releases', () => []);
  sim.publish();
  const err = await rejectsWith(t, updaterFor(sim).resolve(sim.gun, 'v2'), TagNotSignedError, 'NOT_SIGNED');
  t.ok(err.cause instanceof UnsignedMetadataError);
});

// ---- mix-and-match, lengths and sizes ---------------------------------------------------------

t.test('mix-and-match: a snapshot from another repository', async (t) => {
  const sim = repo();
  const other = repo();
  const name = `snapshot.${sha256Hex(sim.files.get('snapshot') as Buffer)}`;
  sim.overrides.set(name, other.files.get('snapshot') as Buffer);
  const err = await rejectsWith(t, updaterFor(sim).refresh(sim.gun), LengthOrHashMismatchError, 'LENGTH_OR_HASH_MISMATCH');
  t.equal(err.role, 'snapshot');
});

t.test('mix-and-match: an older targets file where the snapshot names a newer one', async (t) => {
  const sim = repo();
  const old = sim.files.get('targets') as Buffer;
  sim.publish();
  sim.overrides.set(`targets.${sha256Hex(sim.files.get('targets') as Buffer)}`, old);
  const err = await rejectsWith(t, updaterFor(sim).refresh(sim.gun), LengthOrHashMismatchError, 'LENGTH_OR_HASH_MISMATCH');
  t.equal(err.role, 'targets');
});

t.test('a truncated delegation file', async (t) => {
  const sim = repo();
  const b = sim.files.get('targets/releases') as Buffer;
  sim.overrides.set(`targets/releases.${sha256Hex(b)}`, b.subarray(0, b.length - 1));
  const err = await rejectsWith(t, updaterFor(sim).refresh(sim.gun), LengthOrHashMismatchError, 'LENGTH_OR_HASH_MISMATCH');
  t.equal(err.role, 'targets/releases');
});

t.test('oversized files are refused while reading (simulator and real HTTP)', async (t) => {
  const sim = repo();
  const url = await sim.listen();
  t.teardown(() => sim.close());
  const remote = new NotaryRemote(url);
  t.teardown(() => remote.close());
  sim.overrides.set('timestamp', Buffer.alloc((1 << 20) + 1, 0x20));
  await rejectsWith(t, updaterFor(sim).refresh(sim.gun), FileTooLargeError, 'TOO_LARGE');
  await rejectsWith(t, updaterFor(remote).refresh(sim.gun), FileTooLargeError, 'TOO_LARGE');
  sim.overrides.clear();
  const sn = sim.files.get('snapshot') as Buffer;
  sim.overrides.set(`snapshot.${sha256Hex(sn)}`, Buffer.concat([sn, Buffer.from(' ')]));
  const err = await rejectsWith(t, updaterFor(remote).refresh(sim.gun), FileTooLargeError, 'TOO_LARGE');
  t.equal(err.role, 'snapshot', 'a snapshot longer than the timestamp says');
  sim.overrides.clear();
  t.resolves(updaterFor(remote).resolve(sim.gun, 'v2'), 'over real HTTP the honest repository resolves');
});

t.test('a root larger than the configured cap', async (t) => {
  const sim = repo();
  sim.overrides.set('root', Buffer.alloc(4096, 0x20));
  const u = new (await import('../../src/notary/updater.js')).TrustUpdater({
    fetcher: sim,
    store: new MemoryTrustStore(),
    pinning: (await import('../../src/trust/index.js')).NO_PINNING,
    limits: { rootMaxBytes: 1024 },
  });
  const err = await rejectsWith(t, u.refresh(sim.gun), FileTooLargeError, 'TOO_LARGE');
  t.equal(err.role, 'root');
});

// ---- root rotation ---------------------------------------------------------------------------

async function trustedAt(sim: RepoSimulator) {
  const store = new MemoryTrustStore();
  await updaterFor(sim, { store }).refresh(sim.gun);
  return store;
}

t.test('root rotation signed by the old and the new keys is accepted', async (t) => {
  const sim = repo();
  const store = await trustedAt(sim);
  const oldKey = sim.keys.root[0] as SimKey;
  sim.keys.root = [SimKey.generate('ecdsa-x509', { cn: sim.gun })];
  sim.rootCosigners = [oldKey];
  sim.publishRoot();
  sim.publish();
  const events: { type: string }[] = [];
  const r = await updaterFor(sim, { store, events: events as never }).refresh(sim.gun);
  t.equal(r.set.root.root.version, 2);
  t.ok(events.some((e) => e.type === 'root-rotated'));
});

t.test('root rotation not signed by the old keys is refused', async (t) => {
  const sim = repo();
  const store = await trustedAt(sim);
  sim.keys.root = [SimKey.generate('ecdsa-x509', { cn: sim.gun })];
  sim.publishRoot();
  sim.publish();
  await rejectsWith(t, updaterFor(sim, { store }).refresh(sim.gun), RootRotationError, 'ROOT_ROTATION_FAILED');
});

t.test('root rotation below the old threshold is refused', async (t) => {
  const sim = new RepoSimulator();
  sim.keys.root.push(SimKey.generate('ecdsa-x509', { cn: sim.gun }));
  sim.thresholds.root = 2;
  sim.publishRoot();
  sim.addTarget('targets', 'v1', 'm');
  sim.publish();
  const store = await trustedAt(sim);
  const [a] = sim.keys.root as [SimKey];
  const fresh = SimKey.generate('ecdsa-x509', { cn: sim.gun });
  sim.keys.root = [fresh];
  sim.thresholds.root = 1;
  sim.rootCosigners = [a]; // only one of the two old keys signs
  sim.publishRoot();
  sim.publish();
  await rejectsWith(t, updaterFor(sim, { store }).refresh(sim.gun), RootRotationError, 'ROOT_ROTATION_FAILED');
});

t.test('root rotation across several versions walks N.root.json', async (t) => {
  const sim = repo();
  const store = await trustedAt(sim);
  const k1 = sim.keys.root[0] as SimKey;
  const k2 = SimKey.generate('ecdsa-x509', { cn: sim.gun });
  const k3 = SimKey.generate('ecdsa-x509', { cn: sim.gun });
  sim.keys.root = [k2];
  sim.rootCosigners = [k1];
  sim.publishRoot(); // v2 signed by k1 + k2
  sim.keys.root = [k3];
  sim.rootCosigners = [k2];
  sim.publishRoot(); // v3 signed by k2 + k3: not by k1
  sim.publish();
  sim.requests.length = 0;
  const r = await updaterFor(sim, { store }).refresh(sim.gun);
  t.equal(r.set.root.root.version, 3);
  t.ok(sim.requests.includes('2.root'), 'fetched the intermediate root');
});

// ---- trust pinning ----------------------------------------------------------------------------

const pinKeys = (gun: string, ids: string[]) => ({ keys: new Map([[gun, ids]]), ca: new Map(), disableTOFU: false });

t.test('pinned key IDs: the listed ID and the canonical ID are accepted, another refused', async (t) => {
  const sim = repo();
  const rootKey = sim.keys.root[0] as SimKey;
  const canonical = canonicalKeyId({ id: rootKey.id, keyType: rootKey.keyType, publicBytes: rootKey.publicBytes }) as string;
  t.resolves(updaterFor(sim, { pinning: pinKeys(sim.gun, [rootKey.id]) }).refresh(sim.gun), 'listed ID');
  t.resolves(updaterFor(sim, { pinning: pinKeys(sim.gun, [canonical]) }).refresh(sim.gun), 'canonical ID');
  t.resolves(updaterFor(sim, { pinning: pinKeys('docker.io/library/*', [canonical]) }).refresh(sim.gun), 'wildcard GUN');
  await rejectsWith(t, updaterFor(sim, { pinning: pinKeys(sim.gun, ['b'.repeat(64)]) }).refresh(sim.gun), TrustPinningError, 'PINNING_FAILED');
});

t.test('pinned CA: a root certificate it issued is accepted, one from another CA refused', async (t) => {
  const caA = ecKeyPair();
  const caB = ecKeyPair();
  const caDer = (k: ReturnType<typeof ecKeyPair>, cn: string) =>
    makeCertificate({ subjectCN: cn, publicKey: k.publicKey, issuerKey: k.privateKey, isCA: true });
  const gun = 'docker.io/library/sim';
  const rootKey = SimKey.generate('ecdsa-x509', { cn: gun, issuer: { key: caA.privateKey, cn: 'CA A' } });
  const sim = repo(rootKey);
  const pinCa = (der: Buffer) => ({ keys: new Map(), ca: new Map([['docker.io/', [parseCertificate(der)]]]), disableTOFU: true });
  t.resolves(updaterFor(sim, { pinning: pinCa(caDer(caA, 'CA A')) }).refresh(gun), 'issued by the pinned CA');
  await rejectsWith(t, updaterFor(sim, { pinning: pinCa(caDer(caB, 'CA A')) }).refresh(gun), TrustPinningError, 'PINNING_FAILED');
});

t.test('trust on first use disabled with nothing pinned', async (t) => {
  const sim = repo();
  const pinning = { keys: new Map(), ca: new Map(), disableTOFU: true };
  await rejectsWith(t, updaterFor(sim, { pinning }).refresh(sim.gun), TrustPinningError, 'PINNING_FAILED');
  const store = await trustedAt(sim);
  t.resolves(updaterFor(sim, { store, pinning }).refresh(sim.gun), 'a root trusted before is still trusted');
});

// ---- root certificates -------------------------------------------------------------------------

t.test('root certificate CN must match the GUN (or a prefix* wildcard)', async (t) => {
  const wrong = repo(SimKey.generate('ecdsa-x509', { cn: 'docker.io/library/other' }));
  await rejectsWith(t, updaterFor(wrong).refresh(wrong.gun), CertificateError, 'CERTIFICATE_INVALID');
  const wildcard = repo(SimKey.generate('ecdsa-x509', { cn: 'docker.io/library/*' }));
  t.resolves(updaterFor(wildcard).refresh(wildcard.gun));
});

t.test('expired or not-yet-valid root certificate', async (t) => {
  const now = Date.now();
  const expired = repo(SimKey.generate('ecdsa-x509', { cn: 'docker.io/library/sim', notBefore: new Date(now - 20 * DAY), notAfter: new Date(now - DAY) }));
  await rejectsWith(t, updaterFor(expired).refresh(expired.gun), CertificateError, 'CERTIFICATE_INVALID');
  const future = repo(SimKey.generate('ecdsa-x509', { cn: 'docker.io/library/sim', notBefore: new Date(now + 2 * DAY) }));
  await rejectsWith(t, updaterFor(future).refresh(future.gun), CertificateError, 'CERTIFICATE_INVALID');
  const skewed = repo(SimKey.generate('ecdsa-x509', { cn: 'docker.io/library/sim', notBefore: new Date(now + DAY / 2) }));
  t.resolves(updaterFor(skewed).refresh(skewed.gun), 'one day of clock-skew leeway on notBefore');
});

t.test('SHA-1 signed root certificate', async (t) => {
  const sim = repo(SimKey.generate('ecdsa-x509', { cn: 'docker.io/library/sim', hash: 'sha1' }));
  await rejectsWith(t, updaterFor(sim).refresh(sim.gun), CertificateError, 'CERTIFICATE_INVALID');
});

t.test('RSA root certificates: 2048 bits accepted, 1024 refused', async (t) => {
  const ok = repo(SimKey.generate('rsa-x509', { cn: 'docker.io/library/sim' }));
  t.resolves(updaterFor(ok).resolve(ok.gun, 'v1'));
  const weak = repo(SimKey.generate('rsa-x509', { cn: 'docker.io/library/sim', rsaBits: 1024 }));
  await rejectsWith(t, updaterFor(weak).refresh(weak.gun), CertificateError, 'CERTIFICATE_INVALID');
});

// ---- delegations and tag resolution --------------------------------------------------------------

t.test('delegation path escape: a tag outside the delegation paths is not signed by it', async (t) => {
  const sim = new RepoSimulator();
  sim.addDelegation('targets/releases', { paths: ['v'] });
  sim.addTarget('targets/releases', 'latest', 'evil');
  sim.addTarget('targets/releases', 'v3', 'fine');
  sim.publish();
  await rejectsWith(t, updaterFor(sim).resolve(sim.gun, 'latest'), TagNotSignedError, 'NOT_SIGNED');
  t.equal((await updaterFor(sim).resolve(sim.gun, 'v3')).role, 'targets/releases');
});

t.test("delegation path escape below a delegation: a child's paths are cut to its parent's", async (t) => {
  const sim = new RepoSimulator();
  sim.addDelegation('targets/releases', { paths: ['v'] });
  sim.addDelegation('targets/releases/team', { paths: [''] }); // claims everything; its parent only has v*
  sim.addTarget('targets/releases/team', 'v9', 'from team');
  const good = sim.addTarget('targets', 'v9', 'from targets');
  sim.publish();
  // cut to nothing, team is never visited: the releases walk finds no v9 and targets answers
  t.equal((await updaterFor(sim).resolve(sim.gun, 'v9')).digest, good);
});

t.test('a delegation that is not a direct child of its delegator', async (t) => {
  const sim = repo();
  const k = SimKey.generate('ecdsa');
  sim.beforeSign.set('targets', (s) => {
    const d = s.delegations as JsonObject;
    (d.keys as JsonObject)[k.id] = k.toJson();
    (d.roles as JsonObject[]).push({ keyids: [k.id], name: 'targets/releases/deep', paths: [''], threshold: 1 });
  });
  sim.publish();
  await rejectsWith(t, updaterFor(sim).refresh(sim.gun), DelegationError, 'DELEGATION_INVALID');
});

t.test('a tag present only in another delegation is not signed for Docker', async (t) => {
  const sim = repo();
  sim.addDelegation('targets/alice');
  sim.addTarget('targets/alice', 'only-alice', 'm');
  sim.publish();
  const err = await rejectsWith(t, updaterFor(sim).resolve(sim.gun, 'only-alice'), TagNotSignedError, 'NOT_SIGNED');
  t.match(err.message, 'targets/alice');
});

t.test('targets/releases wins over targets; a hit deeper in the releases subtree refuses (as Docker)', async (t) => {
  const sim = repo();
  sim.addTarget('targets', 'both', 'from targets');
  const rel = sim.addTarget('targets/releases', 'both', 'from releases');
  sim.addDelegation('targets/releases/bot');
  sim.addTarget('targets', 'shadowed', 'from targets');
  sim.addTarget('targets/releases/bot', 'shadowed', 'from bot');
  sim.publish();
  t.equal((await updaterFor(sim).resolve(sim.gun, 'both')).digest, rel);
  await rejectsWith(t, updaterFor(sim).resolve(sim.gun, 'shadowed'), TagNotSignedError, 'NOT_SIGNED');
});

t.test('policy may narrow the roles: releases-only refuses a tag in targets', async (t) => {
  const sim = repo();
  await rejectsWith(t, updaterFor(sim).resolve(sim.gun, 'v1', ['targets/releases']), TagNotSignedError, 'NOT_SIGNED');
  t.resolves(updaterFor(sim).resolve(sim.gun, 'v2', ['targets/releases']));
});

t.test('a target without a sha256 hash is not signed', async (t) => {
  const sim = repo();
  sim.beforeSign.set('targets', (s) => {
    (s.targets as JsonObject).nohash = { hashes: { sha512: Buffer.alloc(64).toString('base64') }, length: 3 };
  });
  sim.publish();
  await rejectsWith(t, updaterFor(sim).resolve(sim.gun, 'nohash'), TagNotSignedError, 'NOT_SIGNED');
});

// ---- malformed metadata --------------------------------------------------------------------------

t.test('malformed JSON', async (t) => {
  const sim = repo();
  sim.overrides.set('timestamp', Buffer.from('{"signed": {'));
  await rejectsWith(t, updaterFor(sim).refresh(sim.gun), DeserializationError, 'METADATA_MALFORMED');
});

const signedVariants: [string, (s: JsonObject) => void][] = [
  ['a version of the wrong type', (s) => (s.version = '2')],
  ['expires that is not a time', (s) => (s.expires = 'tomorrow')],
  ['meta of the wrong type', (s) => (s.meta = [])],
  ['a snapshot length that is not a number', (s) => (((s.meta as JsonObject).snapshot as JsonObject).length = 'x')],
];
for (const [name, mutate] of signedVariants) {
  t.test(`wrong types, validly signed: ${name}`, async (t) => {
    const sim = repo();
    sim.beforeSign.set('timestamp', mutate);
    sim.publish();
    await rejectsWith(t, updaterFor(sim).refresh(sim.gun), DeserializationError, 'METADATA_MALFORMED');
  });
}

t.test('wrong _type, validly signed', async (t) => {
  const sim = repo();
  sim.beforeSign.set('timestamp', (s) => (s._type = 'Snapshot'));
  sim.publish();
  await rejectsWith(t, updaterFor(sim).refresh(sim.gun), WrongTypeError, 'WRONG_TYPE');
});

const numberAttacks: [string, (text: string) => string][] = [
  ['a fractional number', (s) => s.replace(/"version":(\d+)/, '"version":$1.5')],
  ['a huge number', (s) => s.replace(/"version":(\d+)/, '"version":123456789012345678901234567890')],
  ['an exponent', (s) => s.replace(/"version":(\d+)/, '"version":1e3')],
  ['deep nesting', (s) => s.replace('"_type"', `"x":${'['.repeat(5000)}${']'.repeat(5000)},"_type"`)],
];
for (const [name, edit] of numberAttacks) {
  t.test(`malformed timestamp: ${name}`, async (t) => {
    const sim = repo();
    sim.overrides.set('timestamp', Buffer.from(edit((sim.files.get('timestamp') as Buffer).toString())));
    await rejectsWith(t, updaterFor(sim).refresh(sim.gun), DeserializationError, 'METADATA_MALFORMED');
  });
}

t.test('signatures cover the canonical re-encoding, not the raw bytes', async (t) => {
  const sim = repo();
  const doc = JSON.parse((sim.files.get('timestamp') as Buffer).toString());
  // the same document, re-serialised with whitespace and another key order, still verifies
  const pretty = JSON.stringify({ signatures: doc.signatures, signed: doc.signed }, null, 2);
  sim.overrides.set('timestamp', Buffer.from(pretty));
  t.resolves(updaterFor(sim).resolve(sim.gun, 'v1'));
  t.not(pretty, canonicalBytes(doc).toString());
});

// ---- availability ---------------------------------------------------------------------------------

t.test('Notary unreachable: a stored timestamp still valid is used; an expired one is not', async (t) => {
  const sim = repo();
  const store = new MemoryTrustStore();
  await updaterFor(sim, { store }).refresh(sim.gun);
  sim.overrides.set('timestamp', new UnreachableError('sim://notary', 'connection refused'));
  const r = await updaterFor(sim, { store }).resolve(sim.gun, 'v2');
  t.equal(r.refresh.timestampSource, 'store');
  const later = new Date(Date.now() + 15 * DAY);
  await rejectsWith(t, updaterFor(sim, { store, clock: () => later }).refresh(sim.gun), UnreachableError, 'UNREACHABLE');
});

t.test('a repository with no trust data', async (t) => {
  const sim = repo();
  await rejectsWith(t, updaterFor(sim).refresh('docker.io/library/unsigned'), NoTrustDataError, 'NO_TRUST_DATA');
});

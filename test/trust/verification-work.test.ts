// The work one trust file can cost, counted in signature verifications (never timed): each key is
// tried at most once and at most MAX_KEYS_TRIED keys per file, a file with more than MAX_SIGNATURES
// signatures is refused unread, and a verdict on unchanged bytes is remembered, so a refresh of
// unchanged trust data (and the stored root) costs no verification at all.

import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import t from 'tap';
import { DeserializationError, KeyIdMismatchError, UnsignedMetadataError } from '../../src/errors.js';
import { makePublicKey, type PublicKey } from '../../src/trust/public-key.js';
import { MAX_KEYS_TRIED, MAX_SIGNATURES, signatureVerifications, verifyThreshold, type Signature } from '../../src/trust/signatures.js';
import { MemoryTrustStore } from '../../src/cache/trust-store.js';
import { RepoSimulator } from '../helpers/simulator.js';
import { updaterFor } from '../helpers/trust.js';

function p256(): { key: PublicKey; sign: (m: Buffer) => Buffer } {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const key = makePublicKey('ecdsa', publicKey.export({ format: 'der', type: 'spki' }));
  return { key, sign: (m) => sign('sha256', m, { key: privateKey, dsaEncoding: 'ieee-p1363' }) };
}

/** Verifications `fn` performs, and what it threw (if anything). */
function counted(fn: () => unknown): { verifications: number; error: unknown } {
  const before = signatureVerifications();
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  return { verifications: signatureVerifications() - before, error };
}

const bogus = (keyId: string): Signature => ({ keyId, method: 'ecdsa', sig: randomBytes(64) });

t.test('a failing signature repeated by one key is verified once', async (t) => {
  const { key } = p256();
  const message = randomBytes(100);
  const sigs = Array.from({ length: MAX_SIGNATURES }, () => bogus(key.id));
  const r = counted(() => verifyThreshold(message, sigs, { name: 'timestamp', keys: new Map([[key.id, key]]), threshold: 1 }));
  t.ok(r.error instanceof UnsignedMetadataError);
  t.equal((r.error as UnsignedMetadataError).code, 'SIGNATURE_THRESHOLD');
  t.equal(r.verifications, 1, `one verification for ${MAX_SIGNATURES} copies`);
});

t.test(`at most ${MAX_KEYS_TRIED} distinct keys are tried per file`, async (t) => {
  const keys = Array.from({ length: MAX_KEYS_TRIED + 4 }, () => p256().key);
  const message = randomBytes(100);
  const r = counted(() =>
    verifyThreshold(message, keys.map((k) => bogus(k.id)), { name: 'targets', keys: new Map(keys.map((k) => [k.id, k])), threshold: 1 }),
  );
  t.ok(r.error instanceof UnsignedMetadataError);
  t.equal(r.verifications, MAX_KEYS_TRIED);
});

t.test('more signatures than a file may carry: refused before any verification', async (t) => {
  const { key } = p256();
  const sigs = Array.from({ length: MAX_SIGNATURES + 1 }, () => bogus(key.id));
  const r = counted(() => verifyThreshold(randomBytes(10), sigs, { name: 'timestamp', keys: new Map([[key.id, key]]), threshold: 1 }));
  t.ok(r.error instanceof DeserializationError);
  t.equal((r.error as DeserializationError).code, 'METADATA_MALFORMED');
  t.equal(r.verifications, 0);
});

t.test('a threshold above the keys tried is refused', async (t) => {
  const { key } = p256();
  const r = counted(() => verifyThreshold(randomBytes(10), [bogus(key.id)], { name: 'root', keys: new Map([[key.id, key]]), threshold: MAX_KEYS_TRIED + 1 }));
  t.ok(r.error instanceof UnsignedMetadataError);
  t.equal(r.verifications, 0);
});

t.test('verdicts on the same bytes, signatures and keys are remembered, failures included', async (t) => {
  const a = p256();
  const message = randomBytes(1000);
  const role = { name: 'targets', keys: new Map([[a.key.id, a.key]]), threshold: 1 };
  const good = [{ keyId: a.key.id, method: 'ecdsa', sig: a.sign(message) }];
  const first = counted(() => t.same(verifyThreshold(message, good, role), [a.key.id]));
  t.equal(first.verifications, 1);
  const again = counted(() => t.same(verifyThreshold(Buffer.from(message), good, role), [a.key.id]));
  t.equal(again.verifications, 0, 'unchanged bytes: no verification');

  const bad = [bogus(a.key.id)];
  t.equal(counted(() => verifyThreshold(message, bad, role)).verifications, 1);
  const badAgain = counted(() => verifyThreshold(message, bad, role));
  t.equal(badAgain.verifications, 0);
  t.ok(badAgain.error instanceof UnsignedMetadataError, 'a remembered failure fails the same way');

  const other = p256();
  const otherRole = { ...role, keys: new Map([[a.key.id, other.key]]) };
  const mismatch = counted(() => verifyThreshold(message, good, otherRole));
  t.ok(mismatch.error instanceof KeyIdMismatchError, 'different keys: a different verdict');
  t.equal(counted(() => verifyThreshold(message, good, otherRole)).error instanceof KeyIdMismatchError, true);
  const changed = Buffer.from(message);
  changed[0] = (changed[0] as number) ^ 1;
  t.equal(counted(() => verifyThreshold(changed, good, role)).verifications, 1, 'changed bytes are verified');
});

t.test('a refresh of unchanged trust data verifies no signature again, the stored root included', async (t) => {
  const sim = new RepoSimulator('docker.io/library/unchanged');
  sim.addTarget('targets', 'v1', 'manifest v1');
  sim.publish();
  const store = new MemoryTrustStore();
  const before = signatureVerifications();
  await updaterFor(sim, { store }).refresh(sim.gun);
  const cold = signatureVerifications() - before;
  t.ok(cold >= 4, `the first refresh verified root, timestamp, snapshot and targets (${cold})`);
  const again = signatureVerifications();
  await updaterFor(sim, { store }).refresh(sim.gun); // a new updater: the stored root is loaded and re-validated
  t.equal(signatureVerifications() - again, 0);
});

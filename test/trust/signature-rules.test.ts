// The rules of signatures.ts the end-to-end tests do not reach: each method only with its own key
// type (notary verifiers.go picks the verifier by method, then refuses other key types), the bounds
// of verifyThreshold, and the remembered verdicts — keyed by everything the verdict depends on, and
// bounded, least recently used first out.

import { constants, createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import t from 'tap';
import { DeserializationError, KeyIdMismatchError, UnsignedMetadataError } from '../../src/errors.js';
import { makePublicKey, type PublicKey } from '../../src/trust/public-key.js';
import {
  clearVerdicts,
  MAX_KEYS_TRIED,
  MAX_SIGNATURES,
  signatureVerifications,
  verifySignature,
  verifyThreshold,
  type RoleKeys,
  type Signature,
} from '../../src/trust/signatures.js';
import { throwsWith } from '../helpers/trust.js';

const spki = (k: KeyObject) => k.export({ format: 'der', type: 'spki' });
const msg = Buffer.from('{"_type":"Targets","version":1}');

function ecKey(namedCurve: string) {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve });
  return { publicKey, sig: sign('sha256', msg, { key: privateKey, dsaEncoding: 'ieee-p1363' }) };
}
const edPair = generateKeyPairSync('ed25519');
const edSig = sign(null, msg, edPair.privateKey);
const rsaPair = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pssSig = sign('sha256', msg, { key: rsaPair.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
const p256 = ecKey('prime256v1');

t.test('ECDSA over SHA-256 on every curve notary accepts, the signature r||s sized to the curve', async (t) => {
  for (const [curve, half] of [
    ['prime256v1', 32],
    ['secp384r1', 48],
    ['secp521r1', 66],
  ] as const) {
    const k = ecKey(curve);
    const key = makePublicKey('ecdsa', spki(k.publicKey));
    t.equal(k.sig.length, 2 * half);
    t.ok(verifySignature(key, 'ecdsa', k.sig, msg), curve);
    t.notOk(verifySignature(key, 'ecdsa', Buffer.concat([k.sig, Buffer.alloc(1)]), msg), `${curve}: one byte long`);
    t.notOk(verifySignature(key, 'ecdsa', Buffer.concat([Buffer.alloc(1), k.sig.subarray(0, -1)]), msg), `${curve}: shifted`);
  }
});

t.test('a method verifies only with the key types it is for, whatever the key material', async (t) => {
  const ec = spki(p256.publicKey);
  const ed = spki(edPair.publicKey);
  const rsa = spki(rsaPair.publicKey);
  t.ok(verifySignature(makePublicKey('ecdsa', ec), 'ecdsa', p256.sig, msg));
  t.ok(verifySignature(makePublicKey('ed25519', ed.subarray(-32)), 'eddsa', edSig, msg));
  t.ok(verifySignature(makePublicKey('rsa', rsa), 'rsapss', pssSig, msg));
  // an EC, Ed25519 or RSA public key filed under another key type
  t.notOk(verifySignature(makePublicKey('rsa', ec), 'ecdsa', p256.sig, msg), 'ecdsa by an "rsa" key');
  t.notOk(verifySignature(makePublicKey('ecdsa', ed), 'eddsa', edSig, msg), 'eddsa by an "ecdsa" key');
  t.notOk(verifySignature(makePublicKey('ecdsa', rsa), 'rsapss', pssSig, msg), 'rsapss by an "ecdsa" key');
  t.notOk(verifySignature(makePublicKey('rsa', ec), 'rsapss', p256.sig, msg), 'rsapss by an EC key filed as "rsa"');
  t.notOk(verifySignature(makePublicKey('ecdsa', rsa), 'ecdsa', pssSig.subarray(0, 64), msg), 'ecdsa by an RSA key filed as "ecdsa"');
  t.notOk(verifySignature(makePublicKey('ed25519', ed.subarray(-32)), 'eddsa', Buffer.concat([edSig, Buffer.alloc(1)]), msg));
  t.notOk(verifySignature(makePublicKey('ed25519', ed.subarray(-32)), 'ed25519', edSig, msg), 'the key type is not a method');
  t.notOk(verifySignature(makePublicKey('rsa', rsa), 'rsapss', pssSig.subarray(1), msg), 'shorter than 2048 bits');
});

const edKeys = Array.from({ length: MAX_KEYS_TRIED + 1 }, () => {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const key = makePublicKey('ed25519', spki(publicKey).subarray(-32));
  return { key, signOver: (m: Buffer): Signature => ({ keyId: key.id, method: 'eddsa', sig: sign(null, m, privateKey) }) };
});
const roleOf = (keys: PublicKey[], threshold: number): RoleKeys => ({ name: 'targets', keys: new Map(keys.map((k) => [k.id, k])), threshold });
const [A, B, C] = edKeys as [(typeof edKeys)[0], (typeof edKeys)[0], (typeof edKeys)[0]];

t.test('verifyThreshold: signers in signature order, unknown keys skipped, a copy each time', async (t) => {
  const role = roleOf([A.key, B.key, C.key], 2);
  const unknown: Signature = { keyId: 'f'.repeat(64), method: 'eddsa', sig: edSig };
  const signers = verifyThreshold(msg, [unknown, C.signOver(msg), A.signOver(msg)], role);
  t.same(signers, [C.key.id, A.key.id]);
  signers.pop();
  t.same(verifyThreshold(msg, [unknown, C.signOver(msg), A.signOver(msg)], role), [C.key.id, A.key.id], 'the remembered list is not shared');
  const misfiled: RoleKeys = { name: 'targets', keys: new Map([[A.key.id, A.key], [C.key.id, B.key]]), threshold: 1 };
  throwsWith(t, () => verifyThreshold(msg, [A.signOver(msg), { ...B.signOver(msg), keyId: C.key.id }], misfiled), KeyIdMismatchError, 'KEY_ID_MISMATCH');
});

t.test('verifyThreshold bounds: up to MAX_SIGNATURES signatures, thresholds 1 to MAX_KEYS_TRIED', async (t) => {
  const all = edKeys.slice(0, MAX_KEYS_TRIED);
  const sigs = all.map((k) => k.signOver(msg));
  t.same(verifyThreshold(msg, sigs, roleOf(all.map((k) => k.key), MAX_KEYS_TRIED)), all.map((k) => k.key.id), 'the highest threshold met');
  const padded = [A.signOver(msg), ...Array.from({ length: MAX_SIGNATURES - 1 }, (_, i) => ({ keyId: `${i}`, method: 'eddsa', sig: edSig }))];
  t.equal(padded.length, MAX_SIGNATURES);
  t.same(verifyThreshold(msg, padded, roleOf([A.key], 1)), [A.key.id], 'exactly the most signatures a file may carry');
  throwsWith(t, () => verifyThreshold(msg, [...padded, A.signOver(msg)], roleOf([A.key], 1)), DeserializationError, 'METADATA_MALFORMED');
  for (const threshold of [0, -1, 1.5, Number.NaN, Infinity, MAX_KEYS_TRIED + 1]) {
    throwsWith(t, () => verifyThreshold(msg, sigs, roleOf(all.map((k) => k.key), threshold)), UnsignedMetadataError, 'SIGNATURE_THRESHOLD');
  }
});

t.test('a remembered verdict is reused only for the same message, signatures, keys and threshold', async (t) => {
  const role = roleOf([A.key, B.key], 1);
  const good = A.signOver(msg);
  t.same(verifyThreshold(msg, [good], role), [A.key.id]);
  const refused: [string, () => unknown][] = [
    ['another method', () => verifyThreshold(msg, [{ ...good, method: 'ecdsa' }], role)],
    ['another listed key', () => verifyThreshold(msg, [{ ...good, keyId: B.key.id }], role)],
    ['another signature', () => verifyThreshold(msg, [{ ...good, sig: Buffer.from(good.sig).fill(1, 0, 1) }], role)],
    ['a higher threshold', () => verifyThreshold(msg, [good], { ...role, threshold: 2 })],
    // the same bytes in another framing: the key ID moved from the signature into the message
    ['fields shifted', () => verifyThreshold(Buffer.concat([msg, Buffer.from(A.key.id)]), [{ ...good, keyId: '' }], role)],
  ];
  for (const [what, fn] of refused) t.test(what, async (t) => void throwsWith(t, fn, UnsignedMetadataError, 'SIGNATURE_THRESHOLD'));
});

t.test(`at most 4096 verdicts are remembered, the least recently used forgotten first`, async (t) => {
  clearVerdicts();
  const role = roleOf([A.key], 1);
  const watched = [A.signOver(msg)];
  const verifications = () => {
    const before = signatureVerifications();
    t.same(verifyThreshold(msg, watched, role), [A.key.id]);
    return signatureVerifications() - before;
  };
  // verdicts that cost no verification: their only signature is by a key the role does not list
  let refusals = 0;
  const other = (i: number) => {
    try {
      verifyThreshold(createHash('sha256').update(`${i}`).digest(), [{ keyId: 'x', method: 'eddsa', sig: edSig }], role);
    } catch (err) {
      if (!(err instanceof UnsignedMetadataError)) throw err;
      refusals++;
    }
  };
  t.equal(verifications(), 1, 'first seen');
  t.equal(verifications(), 0, 'remembered');
  other(0);
  t.equal(verifications(), 0, 'still remembered after another verdict');
  for (let i = 1; i < 4095; i++) other(i); // 4096 verdicts remembered: the watched one, then 0…4094
  t.equal(verifications(), 0, 'touched: now the most recently used');
  other(4095); // evicts 0, the least recently used
  t.equal(verifications(), 0, 'the watched verdict outlived an older one');
  for (let i = 4096; i < 8192; i++) other(i);
  t.equal(verifications(), 1, 'forgotten after 4096 newer verdicts');
  t.equal(refusals, 8192, 'every other verdict a refusal');
});

// verifySignature's own checks before node:crypto: the key type behind each method, the curve and
// key size, and a signature of exactly the size Go's verifiers take (notary verifiers.go uses Go's
// crypto/ecdsa, crypto/ed25519 and crypto/rsa). A signature of another size is refused without a
// verification: trustgate_signature_verifications counts only real crypto work.

import { constants, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import t from 'tap';
import { makePublicKey } from '../../src/trust/public-key.js';
import { signatureVerifications, verifySignature } from '../../src/trust/signatures.js';

const spki = (k: KeyObject) => k.export({ format: 'der', type: 'spki' });
const msg = Buffer.from('{"_type":"Targets","version":2}');
const pss = { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
const pkcs1 = { padding: constants.RSA_PKCS1_PADDING };

/** The answer and the verifications it cost. */
function checked(...args: Parameters<typeof verifySignature>): [boolean, number] {
  const before = signatureVerifications();
  const ok = verifySignature(...args);
  return [ok, signatureVerifications() - before];
}

t.test('an unknown method is refused with exactly false, at no cost', async (t) => {
  const ed = generateKeyPairSync('ed25519');
  const key = makePublicKey('ed25519', spki(ed.publicKey).subarray(-32));
  for (const method of ['ed25519', 'ECDSA', 'rsa', '']) t.strictSame(checked(key, method, sign(null, msg, ed.privateKey), msg), [false, 0], method);
});

t.test('ECDSA: a curve notary does not list is refused even with a valid signature', async (t) => {
  const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
  const sig = sign('sha256', msg, { key: k1.privateKey, dsaEncoding: 'ieee-p1363' });
  t.equal(sig.length, 64);
  t.strictSame(checked(makePublicKey('ecdsa', spki(k1.publicKey)), 'ecdsa', sig, msg), [false, 0]);
});

t.test('ECDSA and Ed25519: a signature of the wrong size costs no verification', async (t) => {
  const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const ecKey = makePublicKey('ecdsa', spki(p256.publicKey));
  const ecSig = sign('sha256', msg, { key: p256.privateKey, dsaEncoding: 'ieee-p1363' });
  t.strictSame(checked(ecKey, 'ecdsa', ecSig, msg), [true, 1]);
  t.strictSame(checked(ecKey, 'ecdsa', ecSig.subarray(1), msg), [false, 0], 'one byte short');
  t.strictSame(checked(ecKey, 'ecdsa', Buffer.concat([ecSig, Buffer.alloc(1)]), msg), [false, 0], 'one byte long');
  const ed = generateKeyPairSync('ed25519');
  const edKey = makePublicKey('ed25519', spki(ed.publicKey).subarray(-32));
  const edSig = sign(null, msg, ed.privateKey);
  t.strictSame(checked(edKey, 'eddsa', edSig, msg), [true, 1]);
  t.strictSame(checked(edKey, 'eddsa', edSig.subarray(1), msg), [false, 0], 'one byte short');
  t.strictSame(checked(edKey, 'eddsa', Buffer.concat([edSig, Buffer.alloc(1)]), msg), [false, 0], 'one byte long');
});

t.test('RSA: keys under 2048 bits verify nothing, even their own valid signatures', async (t) => {
  const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const key = makePublicKey('rsa', spki(small.publicKey));
  t.strictSame(checked(key, 'rsapkcs1v15', sign('sha256', msg, { key: small.privateKey, ...pkcs1 }), msg), [false, 0]);
  t.strictSame(checked(key, 'rsapss', sign('sha256', msg, { key: small.privateKey, ...pss }), msg), [false, 0]);
});

// A 2050-bit modulus: 257-byte signatures, about a third of them with a leading zero byte
const rsa = generateKeyPairSync('rsa', { modulusLength: 2050 });
const rsaKey = makePublicKey('rsa', spki(rsa.publicKey));

/** The same public key under id-RSASSA-PSS (RFC 4055, no parameters): OpenSSL takes it, Go's x509 does not. */
function asRsaPssSpki(rsaSpki: Buffer): Buffer {
  const rsaAlgorithm = Buffer.from('300d06092a864886f70d0101010500', 'hex');
  const pssAlgorithm = Buffer.from('300b06092a864886f70d01010a', 'hex');
  const at = rsaSpki.indexOf(rsaAlgorithm);
  const body = Buffer.concat([pssAlgorithm, rsaSpki.subarray(at + rsaAlgorithm.length)]);
  return Buffer.concat([Buffer.from([0x30, 0x82, body.length >> 8, body.length & 0xff]), body]);
}

t.test('RSA: an RSA-PSS key (id-RSASSA-PSS) filed as "rsa" verifies nothing, as notary cannot parse it', async (t) => {
  const pssSpki = asRsaPssSpki(spki(rsa.publicKey));
  t.equal(createPublicKey({ key: pssSpki, format: 'der', type: 'spki' }).asymmetricKeyType, 'rsa-pss', 'a key node:crypto imports');
  const sig = sign('sha256', msg, { key: rsa.privateKey, ...pss });
  t.strictSame(checked(rsaKey, 'rsapss', sig, msg), [true, 1], 'as an rsaEncryption key');
  t.strictSame(checked(makePublicKey('rsa', pssSpki), 'rsapss', sig, msg), [false, 0]);
  t.strictSame(checked(makePublicKey('rsa', pssSpki), 'rsapkcs1v15', sign('sha256', msg, { key: rsa.privateKey, ...pkcs1 }), msg), [false, 0]);
});

t.test('RSA: PKCS#1 v1.5 is the padding of rsapkcs1v15, PSS with a 32-byte salt that of rsapss', async (t) => {
  const v15 = sign('sha256', msg, { key: rsa.privateKey, ...pkcs1 });
  const ps = sign('sha256', msg, { key: rsa.privateKey, ...pss });
  t.equal(v15.length, 257, 'the modulus size, rounded up to whole bytes');
  t.strictSame(checked(rsaKey, 'rsapkcs1v15', v15, msg), [true, 1]);
  t.strictSame(checked(rsaKey, 'rsapss', ps, msg), [true, 1]);
  t.strictSame(checked(rsaKey, 'rsapss', v15, msg), [false, 1]);
  t.strictSame(checked(rsaKey, 'rsapkcs1v15', ps, msg), [false, 1]);
});

/** A signature over some variant of msg whose first byte is zero (each has about one chance in three). */
function leadingZeroSignature(padding: typeof pss | typeof pkcs1): { m: Buffer; sig: Buffer } {
  for (let i = 0; i < 200; i++) {
    const m = Buffer.concat([msg, Buffer.from(`${i}`)]);
    const sig = sign('sha256', m, { key: rsa.privateKey, ...padding });
    if (sig[0] === 0) return { m, sig };
  }
  throw new Error('no signature with a leading zero byte among 200');
}

t.test('RSA: a signature shorter than the modulus is refused without a verification', async (t) => {
  // Go rsa.VerifyPSS: len(sig) != pub.Size() fails; OpenSSL's PSS check accepts the signature with
  // its leading zero byte dropped, so trustgate must refuse it itself
  for (const [method, padding] of [['rsapss', pss], ['rsapkcs1v15', pkcs1]] as const) {
    const signed = leadingZeroSignature(padding);
    t.strictSame(checked(rsaKey, method, signed.sig, signed.m), [true, 1], `${method}: as signed`);
    t.strictSame(checked(rsaKey, method, signed.sig.subarray(1), signed.m), [false, 0], `${method}: leading zero dropped`);
  }
  const full = sign('sha256', msg, { key: rsa.privateKey, ...pss });
  t.strictSame(checked(rsaKey, 'rsapss', full.subarray(1), msg), [false, 0], '256 bytes: the size of a 2048-bit key');
  t.strictSame(checked(rsaKey, 'rsapss', Buffer.concat([Buffer.alloc(1), full]), msg), [false, 0], 'a leading zero added');
});

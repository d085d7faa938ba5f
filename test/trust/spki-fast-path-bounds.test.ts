// publicKeyFromSpki's fast path for uncompressed NIST points (public-key.ts) takes exactly the DER
// SubjectPublicKeyInfo of a P-256 or P-384 point and nothing else: raw points, a prefix spelled as
// text, a neighbouring length or another algorithm identifier must still be refused as Go's
// x509.ParsePKIXPublicKey refuses them, and every other key type must still reach the DER decoder.

import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import t from 'tap';
import { KeyEncodingError, publicKeyFromSpki } from '../../src/trust/public-key.js';

const P256_PREFIX_HEX = '3059301306072a8648ce3d020106082a8648ce3d030107034200';
const P384_PREFIX_HEX = '3076301006072a8648ce3d020106052b81040022036200';
const spkiOf = (k: KeyObject) => k.export({ format: 'der', type: 'spki' });
const sameKey = (a: KeyObject, b: KeyObject) => spkiOf(a).equals(spkiOf(b));

function ecPoint(namedCurve: 'P-256' | 'P-384'): { spki: Buffer; point: Buffer } {
  const spki = spkiOf(generateKeyPairSync('ec', { namedCurve }).publicKey);
  const prefixLength = namedCurve === 'P-256' ? P256_PREFIX_HEX.length / 2 : P384_PREFIX_HEX.length / 2;
  return { spki, point: spki.subarray(prefixLength) }; // 0x04 || x || y
}

t.test('P-256 and P-384 SPKIs give the key they encode; RSA, Ed25519 and P-521 still go through DER', async (t) => {
  for (const namedCurve of ['P-256', 'P-384'] as const) {
    const { spki } = ecPoint(namedCurve);
    const key = publicKeyFromSpki(spki);
    t.equal(key.asymmetricKeyDetails?.namedCurve, namedCurve === 'P-256' ? 'prime256v1' : 'secp384r1', namedCurve);
    t.ok(spkiOf(key).equals(spki), namedCurve);
  }
  const others = [
    generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey,
    generateKeyPairSync('ed25519').publicKey,
    generateKeyPairSync('ec', { namedCurve: 'P-521' }).publicKey,
  ];
  for (const k of others) t.ok(sameKey(publicKeyFromSpki(spkiOf(k)), k), k.asymmetricKeyType as string);
});

t.test('a bare uncompressed point is not a SubjectPublicKeyInfo', async (t) => {
  for (const namedCurve of ['P-256', 'P-384'] as const) {
    t.throws(() => publicKeyFromSpki(ecPoint(namedCurve).point), namedCurve);
  }
});

t.test('the prefix must be the DER bytes, not their hex spelled as text', async (t) => {
  for (const [namedCurve, hex] of [['P-256', P256_PREFIX_HEX], ['P-384', P384_PREFIX_HEX]] as const) {
    const spoof = Buffer.concat([Buffer.from(hex, 'latin1'), ecPoint(namedCurve).point]);
    t.throws(() => publicKeyFromSpki(spoof), namedCurve);
  }
});

t.test('an SPKI of the right length and point tag but another algorithm identifier is refused', async (t) => {
  const { spki } = ecPoint('P-256');
  const otherCurve = Buffer.from(spki);
  const oidEnd = P256_PREFIX_HEX.length / 2 - 4; // last byte of the curve OID
  otherCurve[oidEnd] = (otherCurve[oidEnd] as number) ^ 0x01; // 1.2.840.10045.3.1.6: no curve node:crypto knows
  t.equal(otherCurve.length, spki.length);
  t.throws(() => publicKeyFromSpki(otherCurve));
});

t.test('one byte more than a P-256 SPKI: trailing data, refused as Go refuses it', async (t) => {
  const { spki } = ecPoint('P-256');
  const trailing = t.throws(() => publicKeyFromSpki(Buffer.concat([spki, Buffer.from([0])])));
  t.type(trailing, KeyEncodingError);
  // x, then a zero byte, then y: read as one 33-byte y it would still be a point on the curve
  const point = spki.subarray(P256_PREFIX_HEX.length / 2 + 1);
  const padded = Buffer.concat([spki.subarray(0, P256_PREFIX_HEX.length / 2 + 1), point.subarray(0, 32), Buffer.from([0]), point.subarray(32)]);
  t.throws(() => publicKeyFromSpki(padded));
});

t.test('two bytes fewer than a P-256 SPKI is refused, even when the rest reads as a point with a short y', async (t) => {
  // x = 40990 is the first x >= 0 on P-256 with a y (or p - y) below 2^240: 30 bytes, found by search
  const p = BigInt('0xffffffff00000001000000000000000000000000ffffffffffffffffffffffff');
  const b = BigInt('0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b');
  const x = 40990n;
  const y = BigInt('0x6939b90af208c882593b19b5c09f25205ae833aa37b8f742006614c05bd1');
  t.equal((y * y) % p, (((x * x * x - 3n * x + b) % p) + p) % p, 'the point is on the curve');
  const bytes = (v: bigint, n: number) => Buffer.from(v.toString(16).padStart(2 * n, '0'), 'hex');
  const short = Buffer.concat([Buffer.from(P256_PREFIX_HEX, 'hex'), Buffer.from([4]), bytes(x, 32), bytes(y, 30)]);
  t.throws(() => publicKeyFromSpki(short));
  // the same point properly encoded is a key: the refusal above is about the encoding alone
  const full = Buffer.concat([Buffer.from(P256_PREFIX_HEX, 'hex'), Buffer.from([4]), bytes(x, 32), bytes(y, 32)]);
  t.ok(spkiOf(publicKeyFromSpki(full)).equals(full));
});

// TUF key material: base64 as Go decodes it, key IDs as notary computes them, SPKI and certificate
// bundles turned into verifying keys (every key type, every way key bytes can be unusable), the
// bounded key cache, the IDs users pin, and PEM as Go's encoding/pem reads and writes it.

import { createHash, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { DeserializationError } from '../../src/errors.js';
import { canonicalKeyId, clearKeyCaches, keyObjectOf, KNOWN_KEY_TYPES, verifyingKeyOf } from '../../src/trust/keys.js';
import { decodePemCertificates, encodePemCertificate, PemError } from '../../src/trust/pem.js';
import { decodeBase64, keyIdOf, makePublicKey, publicKeyFromSpki } from '../../src/trust/public-key.js';
import { makeCertificate, pem } from '../helpers/x509.js';

const spkiOf = (k: KeyObject) => k.export({ format: 'der', type: 'spki' });

function certificatePem(publicKey: KeyObject, issuerKey: KeyObject, cn = 'docker.io/library/keys'): { der: Buffer; pem: Buffer } {
  const der = makeCertificate({ subjectCN: cn, publicKey, issuerKey, eku: ['1.3.6.1.5.5.7.3.3'] });
  return { der, pem: Buffer.from(pem(der), 'latin1') };
}

t.test('decodeBase64 takes standard padded base64, CR and LF ignored, as Go does', async (t) => {
  const valid = ['', 'QQ==', 'QUI=', 'QUJD', 'QUJDRA==', 'QUJDREU=', 'QUJDREVG', '+/+/', 'AA==', 'QUJD\nREVG', 'QUJD\r\nREVG\r\n', '\nQQ=='];
  for (const s of valid) t.same(decodeBase64(s, 'public key'), Buffer.from(s.replace(/[\r\n]/g, ''), 'base64'), JSON.stringify(s));
  const invalid = ['Q', 'QQ', 'QUI', 'QQ=', 'Q===', 'QUJDR', 'QQ==QQ==', '-_-_', 'QU I=', 'QUI=\t', ' QUJD', 'QUJD ', '====', '=QUJ', 'QUJD!', 'Q\u00e9==', 'QUJDRA=', 'QUJDRA===', 'QUJDREU=='];
  for (const s of invalid) {
    t.throws(() => decodeBase64(s, 'public key', 'root'), { constructor: DeserializationError, code: 'METADATA_MALFORMED', role: 'root' }, JSON.stringify(s));
  }
});

t.test('key IDs are sha256 of the canonical key JSON, as in notary repositories', async (t) => {
  const bytes = Buffer.from([1, 2, 3, 250]);
  const expected = createHash('sha256').update(`{"keytype":"ecdsa","keyval":{"private":null,"public":"${bytes.toString('base64')}"}}`).digest('hex');
  t.equal(keyIdOf('ecdsa', bytes), expected);
  t.same(makePublicKey('rsa', bytes), { id: keyIdOf('rsa', bytes), keyType: 'rsa', publicBytes: bytes });
  const root = join(import.meta.dirname, '..', 'fixtures', 'trust');
  let keys = 0;
  for (const repo of readdirSync(root)) {
    const doc = JSON.parse(readFileSync(join(root, repo, 'root.json'), 'utf8')) as { signed: { keys: Record<string, { keytype: string; keyval: { public: string } }> } };
    for (const [id, key] of Object.entries(doc.signed.keys)) {
      t.equal(keyIdOf(key.keytype, Buffer.from(key.keyval.public, 'base64')), id, `${repo} ${key.keytype}`);
      keys++;
    }
  }
  t.ok(keys >= 8);
});

t.test('publicKeyFromSpki imports every algorithm, NIST points through their fast path', async (t) => {
  const pairs: [string, KeyObject][] = [
    ['P-256', generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey],
    ['P-384', generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey],
    ['P-521', generateKeyPairSync('ec', { namedCurve: 'P-521' }).publicKey],
    ['secp256k1', generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey],
    ['rsa', generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey],
    ['ed25519', generateKeyPairSync('ed25519').publicKey],
  ];
  for (const [name, key] of pairs) {
    const imported = publicKeyFromSpki(spkiOf(key));
    t.same(spkiOf(imported), spkiOf(key), name);
    t.same(imported.asymmetricKeyDetails, key.asymmetricKeyDetails, name);
  }
});

t.test('an SPKI that is not an uncompressed point of the right size verifies nothing, as in Go', async (t) => {
  const unusable = (spki: Buffer) => verifyingKeyOf(makePublicKey('ecdsa', spki));
  for (const curve of ['P-256', 'P-384']) {
    const spki = spkiOf(generateKeyPairSync('ec', { namedCurve: curve }).publicKey);
    t.not(unusable(spki), null, `${curve} as it is`);
    const pointAt = spki.length - (curve === 'P-256' ? 65 : 97);
    for (const form of [0x00, 0x02, 0x03, 0x05]) {
      const bad = Buffer.from(spki);
      bad[pointAt] = form;
      t.equal(unusable(bad), null, `${curve} point form ${form}`);
    }
    t.equal(unusable(spki.subarray(0, -1)), null, `${curve} cut short`);
    // Go x509.ParsePKIXPublicKey: "trailing data after ASN.1 of public-key"; notary's verifiers then fail
    t.equal(unusable(Buffer.concat([spki, Buffer.from([0])])), null, `${curve} with a trailing byte`);
  }
  const rsaSpki = spkiOf(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey);
  t.equal(verifyingKeyOf(makePublicKey('rsa', Buffer.concat([rsaSpki, Buffer.from([0, 0])]))), null, 'RSA with trailing bytes');
});

t.test('KNOWN_KEY_TYPES are the key types notary defines', async (t) => {
  t.same([...KNOWN_KEY_TYPES], ['ecdsa', 'ecdsa-x509', 'ed25519', 'rsa', 'rsa-x509']);
});

const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ed = generateKeyPairSync('ed25519');
const ecCert = certificatePem(ec.publicKey, ec.privateKey);
const rsaCert = certificatePem(rsa.publicKey, rsa.privateKey);

t.test('verifying keys for every key type', async (t) => {
  const cases: [string, Buffer, KeyObject, { type: string; namedCurve?: string; modulusLength?: number }][] = [
    ['ecdsa', spkiOf(ec.publicKey), ec.publicKey, { type: 'ec', namedCurve: 'prime256v1' }],
    ['rsa', spkiOf(rsa.publicKey), rsa.publicKey, { type: 'rsa', modulusLength: 2048 }],
    ['ed25519', spkiOf(ed.publicKey).subarray(-32), ed.publicKey, { type: 'ed25519' }],
    ['ecdsa-x509', ecCert.pem, ec.publicKey, { type: 'ec', namedCurve: 'prime256v1' }],
    ['rsa-x509', rsaCert.pem, rsa.publicKey, { type: 'rsa', modulusLength: 2048 }],
  ];
  for (const [keyType, bytes, expected, details] of cases) {
    const key = makePublicKey(keyType, bytes);
    const v = verifyingKeyOf(key);
    t.ok(v, keyType);
    if (!v) continue;
    t.same(spkiOf(v.key), spkiOf(expected), `${keyType}: the key`);
    t.same({ type: v.type, namedCurve: v.namedCurve, modulusLength: v.modulusLength }, { namedCurve: undefined, modulusLength: undefined, ...details }, `${keyType}: its details`);
    t.equal(keyObjectOf(key), v.key, `${keyType}: keyObjectOf`);
  }
});

t.test('an x509 bundle verifies with its first certificate', async (t) => {
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const otherCert = certificatePem(other.publicKey, other.privateKey);
  const bundle = Buffer.concat([otherCert.pem, ecCert.pem]);
  t.same(spkiOf(keyObjectOf(makePublicKey('ecdsa-x509', bundle)) as KeyObject), spkiOf(other.publicKey));
});

t.test('unusable keys verify nothing: null, never an exception', async (t) => {
  const ecSpki = spkiOf(ec.publicKey);
  const unusable: [string, Buffer][] = [
    ['dsa', ecSpki],
    ['ECDSA', ecSpki],
    ['ecdsa-x509', ecSpki],
    ['rsa-x509', ecSpki],
    ['x509', ecCert.pem],
    ['ed25519', spkiOf(ed.publicKey)],
    ['ed25519', spkiOf(ed.publicKey).subarray(-31)],
    ['ed25519', Buffer.alloc(0)],
    ['ecdsa', Buffer.from('not a key')],
    ['rsa', ecSpki.subarray(0, 40)],
    ['ecdsa', Buffer.alloc(0)],
    ['ecdsa-x509', Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')],
    ['ecdsa-x509', Buffer.from('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n')],
    ['rsa-x509', Buffer.from('-----BEGIN CERTIFICATE-----\nAA!A\n-----END CERTIFICATE-----\n')],
    ['rsa-x509', Buffer.alloc(0)],
  ];
  for (const [keyType, bytes] of unusable) {
    const key = makePublicKey(keyType, bytes);
    t.equal(verifyingKeyOf(key), null, `${keyType} ${bytes.length} bytes`);
    t.equal(keyObjectOf(key), null);
    t.equal(canonicalKeyId(key), keyType.endsWith('-x509') ? undefined : key.id, `${keyType}: canonical ID`);
  }
});

t.test('the canonical ID of an x509 key is the ID of its bare public key', async (t) => {
  t.equal(canonicalKeyId(makePublicKey('ecdsa-x509', ecCert.pem)), makePublicKey('ecdsa', spkiOf(ec.publicKey)).id);
  t.equal(canonicalKeyId(makePublicKey('rsa-x509', rsaCert.pem)), makePublicKey('rsa', spkiOf(rsa.publicKey)).id);
  for (const key of [makePublicKey('ecdsa', spkiOf(ec.publicKey)), makePublicKey('rsa', spkiOf(rsa.publicKey)), makePublicKey('ed25519', spkiOf(ed.publicKey).subarray(-32))]) {
    t.equal(canonicalKeyId(key), key.id, key.keyType);
  }
  const edCert = certificatePem(ed.publicKey, ec.privateKey);
  t.equal(canonicalKeyId(makePublicKey('ecdsa-x509', edCert.pem)), undefined, 'a certificate of a key type with no bare x509 counterpart');
});

t.test('verifying keys are cached by key type and content', async (t) => {
  const ecKey = makePublicKey('ecdsa', spkiOf(ec.publicKey));
  const first = verifyingKeyOf(ecKey);
  t.equal(verifyingKeyOf(makePublicKey('ecdsa', spkiOf(ec.publicKey))), first, 'the same content: the cached key');
  t.equal(verifyingKeyOf(makePublicKey('ECDSA', spkiOf(ec.publicKey))), null, 'another key type: not the cached key');
  t.same(spkiOf(keyObjectOf(makePublicKey('rsa', spkiOf(rsa.publicKey))) as KeyObject), spkiOf(rsa.publicKey), 'other content: not the cached key');
});

t.test('clearKeyCaches forgets verifying keys and the certificates behind them', async (t) => {
  const ecKey = makePublicKey('ecdsa', spkiOf(ec.publicKey));
  const x509 = makePublicKey('ecdsa-x509', ecCert.pem);
  const before = [verifyingKeyOf(ecKey), verifyingKeyOf(x509)];
  clearKeyCaches();
  const after = [verifyingKeyOf(ecKey), verifyingKeyOf(x509)];
  t.not(after[0], before[0]);
  t.not(after[1]?.key, before[1]?.key, 'the certificate was parsed again');
  t.same(spkiOf(after[1]?.key as KeyObject), spkiOf(before[1]?.key as KeyObject));
});

t.test('the key cache is bounded: the oldest key is forgotten first', async (t) => {
  clearKeyCaches();
  // random 32-byte strings import as Ed25519 keys (the point is not checked on import)
  const keys = Array.from({ length: 1025 }, () => makePublicKey('ed25519', randomBytes(32)));
  const first = keys.slice(0, 2).map((k) => verifyingKeyOf(k));
  for (const k of keys.slice(2, 1024)) verifyingKeyOf(k);
  t.equal(verifyingKeyOf(keys[0]!), first[0], 'still cached at the bound');
  verifyingKeyOf(keys[1024]!);
  t.equal(verifyingKeyOf(keys[1]!), first[1], 'the second oldest is kept');
  t.not(verifyingKeyOf(keys[0]!), first[0], 'the oldest was forgotten');
});

t.test('PEM bundles decode as Go reads them: certificates only, text around blocks ignored', async (t) => {
  const a = ecCert.der;
  const b = rsaCert.der;
  const lf = pem(a);
  t.same(decodePemCertificates(Buffer.from(lf)), [a], 'LF');
  t.same(decodePemCertificates(Buffer.from(lf.replace(/\n/g, '\r\n'))), [a], 'CRLF');
  t.same(decodePemCertificates(Buffer.from(lf + pem(b))), [a, b], 'a bundle, in order');
  t.same(decodePemCertificates(Buffer.from(`comment\n${lf}between\n${pem(b)}\xff trailer`, 'latin1')), [a, b], 'text outside the blocks');
  t.same(decodePemCertificates(Buffer.from(encodePemCertificate(b) + encodePemCertificate(a))), [b, a], 'as encodePemCertificate writes them');
  t.same(decodePemCertificates(Buffer.from('-----BEGIN CERTIFICATE-----\nAQID\n  BA==\t\n-----END CERTIFICATE-----')), [Buffer.from([1, 2, 3, 4])], 'whitespace inside the body');
});

t.test('PEM that is not a plain certificate bundle is refused', async (t) => {
  const body = ecCert.der.toString('base64');
  const bad: [string, string][] = [
    ['empty', ''],
    ['no block', body],
    ['another block type', `-----BEGIN PUBLIC KEY-----\n${body}\n-----END PUBLIC KEY-----\n`],
    ['a certificate, then another block type', pem(ecCert.der) + `-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n`],
    ['headers', `-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\n\n${body}\n-----END CERTIFICATE-----\n`],
    ['a header without other punctuation', `-----BEGIN CERTIFICATE-----\nComment: x\n${body}\n-----END CERTIFICATE-----\n`],
    ['a character outside base64', `-----BEGIN CERTIFICATE-----\n${body}!\n-----END CERTIFICATE-----\n`],
    ['a character outside base64 first', `-----BEGIN CERTIFICATE-----\n*${body}\n-----END CERTIFICATE-----\n`],
    ['no end line', `-----BEGIN CERTIFICATE-----\n${body}\n`],
    ['a mismatched end line', `-----BEGIN CERTIFICATE-----\n${body}\n-----END PUBLIC KEY-----\n`],
    ['no line break after the begin line', `-----BEGIN CERTIFICATE-----${body}\n-----END CERTIFICATE-----\n`],
  ];
  for (const [name, text] of bad) {
    let caught: unknown;
    try {
      decodePemCertificates(Buffer.from(text, 'latin1'));
    } catch (err) {
      caught = err;
    }
    t.ok(caught instanceof PemError, name);
  }
});

t.test('encodePemCertificate writes 64-character lines with LF, as pem.EncodeToMemory', async (t) => {
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 37) & 0xff));
  t.equal(encodePemCertificate(Buffer.alloc(0)), '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');
  t.equal(encodePemCertificate(bytes(3)), '-----BEGIN CERTIFICATE-----\nACVK\n-----END CERTIFICATE-----\n');
  const b64 = bytes(100).toString('base64');
  t.equal(encodePemCertificate(bytes(100)), `-----BEGIN CERTIFICATE-----\n${b64.slice(0, 64)}\n${b64.slice(64, 128)}\n${b64.slice(128)}\n-----END CERTIFICATE-----\n`);
  for (const n of [47, 48, 49, 96, 1000]) {
    t.equal(encodePemCertificate(bytes(n)), pem(bytes(n)), `${n} bytes`);
    t.same(decodePemCertificates(Buffer.from(encodePemCertificate(bytes(n)))), [bytes(n)], `${n} bytes round trip`);
  }
});

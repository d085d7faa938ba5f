// The certificate checks of src/trust/certs.ts, each pinned on the function itself: what
// parseCertificate reads (last CN, CA flag, extended key usages) and caches, validateCertificate's
// boundaries (notary utils.ValidateCertificate: window, weak algorithms, RSA size, expiry, one day of
// notBefore leeway), MatchCNToGun, the bundle split (notary parseAllCerts), CertBundleToKey, and
// chainsToAnchor (x509.Verify as notary's caCheck uses it: usable links, CA issuers, depth).

import { generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  BasicConstraints,
  Certificate,
  Extension,
  Extensions,
  Name,
  RelativeDistinguishedName,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
  id_ce_basicConstraints,
} from '@peculiar/asn1-x509';
import t, { type Test } from 'tap';
import { CertificateError } from '../../src/errors.js';
import {
  bundleToKey,
  certBundleOf,
  chainsToAnchor,
  clearCertificateCache,
  matchCommonNameToGun,
  parseCertificate,
  validateCertificate,
  type CertInfo,
} from '../../src/trust/certs.js';
import { encodePemCertificate } from '../../src/trust/pem.js';
import { keyIdOf } from '../../src/trust/public-key.js';
import { throwsWith } from '../helpers/trust.js';
import { ecKeyPair, EKU, makeCertificate, pem } from '../helpers/x509.js';

const DAY = 86_400_000;
const OID_CN = '2.5.4.3';
const OID_ORG = '2.5.4.10';
const EKU_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const EKU_ANY = '2.5.29.37.0';
// whole seconds: certificate times carry no milliseconds
const NOW = new Date(Math.floor(Date.now() / 1000) * 1000);
const at = (ms: number) => new Date(NOW.getTime() + ms);

const ec = ecKeyPair();

/** A certificate whose subject is `rdns` (attribute type → value, in order) and with only the extensions given. */
function rawCertificate(rdns: [string, string][][], extensions: Extension[] | undefined): Buffer {
  const alg = new AlgorithmIdentifier({ algorithm: '1.2.840.10045.4.3.2' });
  const name = new Name(rdns.map((rdn) => new RelativeDistinguishedName(rdn.map(([type, v]) => new AttributeTypeAndValue({ type, value: new AttributeValue({ utf8String: v }) })))));
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: new Uint8Array([1, 2, 3]).buffer,
    signature: alg,
    issuer: name,
    validity: new Validity({ notBefore: at(-DAY), notAfter: at(DAY) }),
    subject: name,
    subjectPublicKeyInfo: AsnConvert.parse(ec.publicKey.export({ format: 'der', type: 'spki' }), SubjectPublicKeyInfo),
    ...(extensions ? { extensions: new Extensions(extensions) } : {}),
  });
  const cert = new Certificate({ tbsCertificate: tbs, signatureAlgorithm: alg, signatureValue: new Uint8Array(64).fill(0x41).buffer });
  return Buffer.from(AsnConvert.serialize(cert));
}

function certDer(o: { cn?: string; isCA?: boolean; eku?: string[]; notBefore?: Date; notAfter?: Date; key?: KeyObject } = {}): Buffer {
  const pair = ecKeyPair();
  return makeCertificate({ subjectCN: o.cn ?? 'docker.io/library/x', publicKey: o.key ?? pair.publicKey, issuerKey: pair.privateKey, isCA: o.isCA ?? false, eku: o.eku, notBefore: o.notBefore, notAfter: o.notAfter });
}

// ---- parseCertificate -----------------------------------------------------------------------

t.test('the subject CN is the last CN attribute; other attributes are not the CN', async (t) => {
  t.equal(parseCertificate(rawCertificate([[[OID_CN, 'first']], [[OID_CN, 'last']]], undefined)).commonName, 'last');
  t.equal(parseCertificate(rawCertificate([[[OID_CN, 'the-cn']], [[OID_ORG, 'an-org']]], undefined)).commonName, 'the-cn');
  t.equal(parseCertificate(rawCertificate([[[OID_ORG, 'an-org']]], undefined)).commonName, '', 'no CN: empty');
});

t.test('without extensions: not a CA, no extended key usage', async (t) => {
  const c = parseCertificate(rawCertificate([[[OID_CN, 'bare']]], undefined));
  t.equal(c.isCA, false);
  t.equal(c.extendedKeyUsage, undefined);
  const onlyBc = parseCertificate(rawCertificate([[[OID_CN, 'bc']]], [new Extension({ extnID: id_ce_basicConstraints, critical: true, extnValue: new OctetString(AsnConvert.serialize(new BasicConstraints({ cA: true }))) })]));
  t.equal(onlyBc.isCA, true);
  t.equal(onlyBc.extendedKeyUsage, undefined);
});

t.test('the CA flag and the extended key usages are read, side by side', async (t) => {
  const ca = parseCertificate(certDer({ isCA: true, eku: [EKU.codeSigning, EKU.serverAuth] }));
  t.equal(ca.isCA, true);
  t.same(ca.extendedKeyUsage, [EKU.codeSigning, EKU.serverAuth]);
  const leaf = parseCertificate(certDer({ eku: [EKU_CLIENT_AUTH] }));
  t.equal(leaf.isCA, false);
  t.same(leaf.extendedKeyUsage, [EKU_CLIENT_AUTH]);
});

t.test('validity, algorithm, key and node:crypto view are those of the certificate', async (t) => {
  const pair = ecKeyPair();
  const der = certDer({ notBefore: at(-DAY), notAfter: at(2 * DAY), key: pair.publicKey });
  const c = parseCertificate(der);
  t.equal(c.notBefore.getTime(), at(-DAY).getTime());
  t.equal(c.notAfter.getTime(), at(2 * DAY).getTime());
  t.equal(c.signatureAlgorithm, '1.2.840.10045.4.3.2');
  t.ok(c.publicKey.equals(pair.publicKey));
  t.ok(c.der.equals(der));
  t.ok(c.x509 instanceof X509Certificate, 'built on first use');
  t.equal(c.x509, c.x509, 'and kept');
});

t.test('an unparsable certificate: CertificateError for the role, with its cause', async (t) => {
  const err = throwsWith(t, () => parseCertificate(Buffer.from('not a certificate')), CertificateError, 'CERTIFICATE_INVALID');
  t.equal(err.role, 'root', 'root by default');
  t.ok(err.cause, 'the parser error is its cause');
  const named = throwsWith(t, () => parseCertificate(Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01]), 'targets/releases'), CertificateError, 'CERTIFICATE_INVALID');
  t.equal(named.role, 'targets/releases');
});

t.test('parsed certificates are cached by their exact bytes', async (t) => {
  clearCertificateCache();
  const der = certDer();
  const first = parseCertificate(der);
  t.equal(parseCertificate(Buffer.from(der)), first, 'the same bytes: the same result');
  clearCertificateCache();
  t.not(parseCertificate(der), first, 'cleared: parsed again');
  // bytes that decode to the same UTF-8 text (two invalid bytes) are still different certificates
  const a = rawCertificate([[[OID_CN, 'same']]], undefined);
  const i = a.length - 10;
  a[i] = 0x80;
  const b = Buffer.from(a);
  b[i] = 0x81;
  t.ok(parseCertificate(b).der.equals(b) && parseCertificate(a).der.equals(a), 'each its own entry');
});

t.test('the cache holds the 512 most recently added certificates', async (t) => {
  clearCertificateCache();
  const base = rawCertificate([[[OID_CN, 'cache']]], undefined);
  const variant = (n: number) => {
    const b = Buffer.from(base);
    b.writeUInt16BE(n, b.length - 2); // inside the signature: parsed alike, different bytes
    return b;
  };
  const oldest = parseCertificate(variant(0));
  parseCertificate(variant(1));
  t.equal(parseCertificate(variant(0)), oldest, 'kept while the cache has room');
  for (let n = 2; n < 512; n++) parseCertificate(variant(n));
  t.equal(parseCertificate(variant(0)), oldest, '512 entries: all kept');
  parseCertificate(variant(512));
  t.not(parseCertificate(variant(0)), oldest, 'the 513th evicts the oldest');
  clearCertificateCache();
});

// ---- validateCertificate --------------------------------------------------------------------

const rsaPair = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsa2048 = rsaPair.publicKey;
const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;

function info(o: Partial<CertInfo> = {}): CertInfo {
  return { commonName: 'docker.io/library/x', notBefore: at(-DAY), notAfter: at(DAY), signatureAlgorithm: '1.2.840.10045.4.3.2', publicKey: ec.publicKey, isCA: false, extendedKeyUsage: undefined, ...o } as CertInfo;
}

const valid = (t: Test, c: CertInfo, now = NOW, checkExpiry = true) => t.doesNotThrow(() => validateCertificate(c, now, checkExpiry));
const invalid = (t: Test, c: CertInfo, now = NOW, checkExpiry = true) => throwsWith(t, () => validateCertificate(c, now, checkExpiry), CertificateError, 'CERTIFICATE_INVALID');

t.test('a sound certificate passes; the error role defaults to root', async (t) => {
  valid(t, info());
  valid(t, info({ publicKey: rsa2048, signatureAlgorithm: '1.2.840.113549.1.1.11' }), NOW, true);
  t.equal(invalid(t, info({ notAfter: at(-1000) })).role, 'root');
  t.equal(throwsWith(t, () => validateCertificate(info({ notAfter: at(-1000) }), NOW, true, 'targets/x'), CertificateError, 'CERTIFICATE_INVALID').role, 'targets/x');
});

t.test('the validity window: notBefore after notAfter is refused, equal is not, expiry checked or not', async (t) => {
  invalid(t, info({ notBefore: at(DAY), notAfter: at(DAY - 1000) }), NOW, false);
  valid(t, info({ notBefore: at(-DAY), notAfter: at(-DAY) }), NOW, false);
});

t.test('SHA-1, DSA-SHA1, ECDSA-SHA1, MD5 and MD2 signatures are refused', async (t) => {
  for (const oid of ['1.2.840.113549.1.1.5', '1.2.840.10040.4.3', '1.2.840.10045.4.1', '1.2.840.113549.1.1.4', '1.2.840.113549.1.1.2']) {
    invalid(t, info({ signatureAlgorithm: oid }), NOW, false);
  }
  valid(t, info({ signatureAlgorithm: '1.2.840.113549.1.1.11' }));
  valid(t, info({ signatureAlgorithm: '1.2.840.10045.4.3.3' }));
});

t.test('RSA keys: 2048 bits pass, fewer refused; EC keys are not measured in bits', async (t) => {
  valid(t, info({ publicKey: rsa2048 }));
  invalid(t, info({ publicKey: rsa1024 }), NOW, false);
  valid(t, info({ publicKey: ec.publicKey }));
});

t.test('expiry: in date until notAfter inclusive, refused after it, only when checked', async (t) => {
  valid(t, info({ notAfter: NOW }));
  const err = invalid(t, info({ commonName: 'expired-one', notAfter: at(-1000) })) as CertificateError;
  t.same(err.certificate, { name: 'expired-one', expired: at(-1000) }, 'the fault names the certificate and when it expired');
  valid(t, info({ notAfter: at(-1000) }), NOW, false);
});

t.test('notBefore: one day of leeway for clock skew, then refused, only when checked', async (t) => {
  valid(t, info({ notBefore: at(DAY), notAfter: at(3 * DAY) }));
  valid(t, info({ notBefore: at(3_600_000), notAfter: at(3 * DAY) }));
  const err = invalid(t, info({ commonName: 'early', notBefore: at(DAY + 1000), notAfter: at(3 * DAY) })) as CertificateError;
  t.same(err.certificate, { name: 'early' }, 'the fault names the certificate, with no expiry');
  valid(t, info({ notBefore: at(DAY + 1000), notAfter: at(3 * DAY) }), NOW, false);
});

// ---- matchCommonNameToGun -------------------------------------------------------------------

t.test('CN against GUN: exact, or a trailing-star prefix', async (t) => {
  const cases: [string, string, boolean][] = [
    ['docker.io/library/sim', 'docker.io/library/sim', true],
    ['docker.io/library/sim', 'docker.io/library/sim2', false],
    ['docker.io/library/sim2', 'docker.io/library/sim', false],
    ['docker.io/*', 'docker.io/library/sim', true],
    ['docker.io/*', 'quay.io/library/sim', false],
    ['docker.io/**', 'docker.io/x', true],
    ['docker.io/a*b*', 'docker.io/a*bc', true],
    ['*docker.io/x', 'docker.io/x', false],
    ['library/sim*', 'docker.io/library/sim', false],
    ['*', 'anything', true],
  ];
  for (const [cn, gun, expected] of cases) t.equal(matchCommonNameToGun(cn, gun), expected, `${cn} ~ ${gun}`);
});

// ---- certBundleOf and bundleToKey -----------------------------------------------------------

t.test('a bundle is one non-CA leaf first, then CA intermediates; anything else is not a bundle', async (t) => {
  const leaf = certDer();
  const ca1 = certDer({ isCA: true });
  const ca2 = certDer({ isCA: true });
  const bundle = (...ders: Buffer[]) => certBundleOf(Buffer.from(ders.map((d) => pem(d)).join(''), 'latin1'));
  const one = bundle(leaf);
  t.ok(one?.leaf.der.equals(leaf));
  t.same(one?.intermediates, []);
  const chained = bundle(leaf, ca1, ca2);
  t.ok(chained?.leaf.der.equals(leaf));
  t.same(chained?.intermediates.map((c) => c.der.toString('hex')), [ca1, ca2].map((d) => d.toString('hex')));
  t.equal(bundle(ca1, leaf), undefined, 'a CA first');
  t.equal(bundle(leaf, certDer()), undefined, 'two leaves');
  t.equal(bundle(ca1), undefined, 'no leaf');
  t.equal(certBundleOf(Buffer.from('not pem')), undefined, 'not PEM');
  t.equal(certBundleOf(Buffer.from(pem(Buffer.from('junk')), 'latin1')), undefined, 'a block that is no certificate');
});

t.test('bundleToKey: rsa-x509 or ecdsa-x509 over leaf + intermediates as Go writes PEM; other keys none', async (t) => {
  const ecLeaf = parseCertificate(certDer());
  const ca = parseCertificate(certDer({ isCA: true }));
  const key = bundleToKey(ecLeaf, [ca]);
  const expected = Buffer.from(encodePemCertificate(ecLeaf.der) + encodePemCertificate(ca.der), 'latin1');
  t.equal(key?.keyType, 'ecdsa-x509');
  t.ok(key?.publicBytes.equals(expected), 'leaf then intermediates');
  t.equal(key?.id, keyIdOf('ecdsa-x509', expected));
  const rsaLeaf = parseCertificate(makeCertificate({ subjectCN: 'r', publicKey: rsaPair.publicKey, issuerKey: rsaPair.privateKey }));
  t.equal(bundleToKey(rsaLeaf, [])?.keyType, 'rsa-x509');
  const ed = generateKeyPairSync('ed25519');
  const edLeaf = parseCertificate(makeCertificate({ subjectCN: 'e', publicKey: ed.publicKey, issuerKey: ec.privateKey, issuerCN: 'ca' }));
  t.equal(bundleToKey(edLeaf, []), undefined);
});

// ---- chainsToAnchor -------------------------------------------------------------------------

interface Issued {
  der: Buffer;
  info: CertInfo;
  key: KeyObject;
  cn: string;
}

function issue(cn: string, o: { by?: Issued; isCA?: boolean; eku?: string[]; notBefore?: Date; notAfter?: Date; signer?: KeyObject } = {}): Issued {
  const pair = ecKeyPair();
  const der = makeCertificate({
    subjectCN: cn,
    publicKey: pair.publicKey,
    issuerKey: o.signer ?? o.by?.key ?? pair.privateKey,
    issuerCN: o.by?.cn ?? cn,
    isCA: o.isCA ?? false,
    eku: o.eku,
    notBefore: o.notBefore ?? at(-DAY),
    notAfter: o.notAfter ?? at(DAY),
  });
  return { der, info: parseCertificate(der), key: pair.privateKey, cn };
}

t.test('a leaf issued by the anchor, or by intermediates the anchor issued, chains', async (t) => {
  const root = issue('Root CA', { isCA: true });
  const int = issue('Int CA', { by: root, isCA: true });
  const leaf = issue('leaf', { by: int });
  const direct = issue('direct', { by: root });
  t.equal(chainsToAnchor(direct.info, [], [root.info], NOW), true);
  t.equal(chainsToAnchor(leaf.info, [int.info], [root.info], NOW), true);
  t.equal(chainsToAnchor(leaf.info, [], [root.info], NOW), false, 'without its intermediate');
  t.equal(chainsToAnchor(leaf.info, [int.info], [issue('Other', { isCA: true }).info], NOW), false, 'another anchor');
  t.equal(chainsToAnchor(direct.info, [], [issue('Other', { isCA: true }).info, root.info], NOW), true, 'any anchor of several');
  t.equal(chainsToAnchor(leaf.info, [issue('Unrelated', { by: root, isCA: true }).info, int.info], [root.info], NOW), true, 'any intermediate of several');
  t.equal(chainsToAnchor(leaf.info, [issue('Unrelated', { by: root, isCA: true }).info], [root.info], NOW), false, 'an intermediate the anchor issued, but not the leaf’s issuer');
  t.equal(chainsToAnchor(root.info, [], [root.info], NOW), true, 'the anchor itself');
});

t.test('every link must be usable at now: within its window, boundaries included', async (t) => {
  const root = issue('Root CA', { isCA: true, notBefore: at(-DAY), notAfter: at(DAY) });
  const leafFrom = (notBefore: Date, notAfter: Date) => issue('leaf', { by: root, notBefore, notAfter }).info;
  t.equal(chainsToAnchor(leafFrom(NOW, at(DAY)), [], [root.info], NOW), true, 'notBefore = now');
  t.equal(chainsToAnchor(leafFrom(at(-DAY), NOW), [], [root.info], NOW), true, 'notAfter = now');
  t.equal(chainsToAnchor(leafFrom(at(1000), at(DAY)), [], [root.info], NOW), false, 'not yet valid');
  t.equal(chainsToAnchor(leafFrom(at(-DAY), at(-1000)), [], [root.info], NOW), false, 'expired leaf');
  const expiredRoot = issue('Old CA', { isCA: true, notBefore: at(-2 * DAY), notAfter: at(-1000) });
  t.equal(chainsToAnchor(issue('leaf', { by: expiredRoot }).info, [], [expiredRoot.info], NOW), false, 'expired anchor');
  const futureRoot = issue('New CA', { isCA: true, notBefore: at(1000), notAfter: at(DAY) });
  t.equal(chainsToAnchor(issue('leaf', { by: futureRoot }).info, [], [futureRoot.info], NOW), false, 'anchor not yet valid');
});

t.test('extended key usage: none, serverAuth, codeSigning or any is usable; only others are not', async (t) => {
  const root = issue('Root CA', { isCA: true });
  const leafWith = (eku: string[] | undefined) => chainsToAnchor(issue('leaf', { by: root, eku }).info, [], [root.info], NOW);
  t.equal(leafWith(undefined), true, 'none');
  t.equal(leafWith([EKU.serverAuth]), true, 'serverAuth');
  t.equal(leafWith([EKU.codeSigning]), true, 'codeSigning');
  t.equal(leafWith([EKU_ANY]), true, 'any');
  t.equal(leafWith([EKU_CLIENT_AUTH, EKU.codeSigning]), true, 'one usable among others');
  t.equal(leafWith([EKU_CLIENT_AUTH]), false, 'clientAuth only');
  const clientCa = issue('Client CA', { isCA: true, eku: [EKU_CLIENT_AUTH] });
  t.equal(chainsToAnchor(issue('leaf', { by: clientCa }).info, [], [clientCa.info], NOW), false, 'an anchor for clientAuth only');
});

t.test('an issuer must be a CA, named as the issuer, and have signed the certificate', async (t) => {
  const notCa = issue('Not CA');
  t.equal(chainsToAnchor(issue('leaf', { by: notCa }).info, [], [notCa.info], NOW), false, 'issued by a non-CA anchor');
  const root = issue('Root CA', { isCA: true });
  const notCaInt = issue('Int', { by: root });
  t.equal(chainsToAnchor(issue('leaf', { by: notCaInt }).info, [notCaInt.info], [root.info], NOW), false, 'through a non-CA intermediate');
  const forged = issue('leaf', { by: root, signer: ecKeyPair().privateKey });
  t.equal(chainsToAnchor(forged.info, [], [root.info], NOW), false, 'names the anchor, signed by another key');
  const renamed = issue('leaf', { by: { ...root, cn: 'Another CA' } });
  t.equal(chainsToAnchor(renamed.info, [], [root.info], NOW), false, 'signed by the anchor, names another issuer');
});

t.test('at most 5 intermediates between leaf and anchor', async (t) => {
  const root = issue('Root CA', { isCA: true });
  const chain = (n: number) => {
    const ints: Issued[] = [];
    let parent = root;
    for (let i = 0; i < n; i++) ints.push((parent = issue(`Int ${n}.${i}`, { by: parent, isCA: true })));
    return { leaf: issue('leaf', { by: parent }).info, ints: ints.map((c) => c.info).reverse() };
  };
  const five = chain(5);
  t.equal(chainsToAnchor(five.leaf, five.ints, [root.info], NOW), true, '5');
  const six = chain(6);
  t.equal(chainsToAnchor(six.leaf, six.ints, [root.info], NOW), false, '6');
});

// Root certificates, as notary checks them (notary trustpinning/certs.go, tuf/utils/x509.go).
//
// @peculiar/asn1-x509 reads the certificate structure (subject CN, validity, signature algorithm,
// basic constraints, extended key usage) — fields node:crypto does not expose on Node 20;
// node:crypto's X509Certificate supplies the public key and checks issuer signatures.

import { X509Certificate, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
} from '@peculiar/asn1-x509';
import { CertificateError } from '../errors.js';
import { makePublicKey, publicKeyFromSpki, type PublicKey } from './public-key.js';
import { decodePemCertificates, encodePemCertificate, PemError } from './pem.js';

const OID_COMMON_NAME = '2.5.4.3';
// notary ValidateCertificate refuses SHA-1 signed certificates; MD2/MD5 are refused too (weaker still)
const WEAK_SIGNATURE_ALGORITHMS = new Set([
  '1.2.840.113549.1.1.5', // sha1WithRSAEncryption
  '1.2.840.10040.4.3', // dsa-with-sha1
  '1.2.840.10045.4.1', // ecdsa-with-SHA1
  '1.2.840.113549.1.1.4', // md5WithRSAEncryption
  '1.2.840.113549.1.1.2', // md2WithRSAEncryption
]);
const MIN_RSA_BITS = 2048;
const DAY_MS = 86_400_000;

export interface CertInfo {
  readonly der: Buffer;
  /** The subject public key. */
  readonly publicKey: KeyObject;
  /** node:crypto's view, built on first use (it is costly and only chain checks need it). */
  readonly x509: X509Certificate;
  readonly commonName: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly isCA: boolean;
  readonly signatureAlgorithm: string;
  readonly extendedKeyUsage: readonly string[] | undefined;
}

const parsedCache = new Map<string, CertInfo>();
const PARSED_CACHE_MAX = 512;

export function clearCertificateCache(): void {
  parsedCache.clear();
}

/**
 * Parse a DER certificate. Results are cached by content (a pure function of the bytes): the same
 * root and delegation certificates are re-verified on every refresh.
 */
export function parseCertificate(der: Buffer, role = 'root'): CertInfo {
  const cacheKey = der.toString('latin1');
  const cached = parsedCache.get(cacheKey);
  if (cached) return cached;
  let info: CertInfo;
  try {
    const cert = AsnConvert.parse(der, Certificate);
    const tbs = cert.tbsCertificate;
    let commonName = '';
    // Go's pkix.Name keeps the last CN it sees
    for (const rdn of tbs.subject) for (const atv of rdn) if (atv.type === OID_COMMON_NAME) commonName = atv.value.toString();
    let isCA = false;
    let extendedKeyUsage: string[] | undefined;
    for (const ext of tbs.extensions ?? []) {
      if (ext.extnID === id_ce_basicConstraints) isCA = AsnConvert.parse(ext.extnValue, BasicConstraints).cA;
      if (ext.extnID === id_ce_extKeyUsage) extendedKeyUsage = [...AsnConvert.parse(ext.extnValue, ExtendedKeyUsage)];
    }
    const spki = Buffer.from(AsnConvert.serialize(tbs.subjectPublicKeyInfo));
    let x509: X509Certificate | undefined;
    info = {
      der,
      publicKey: publicKeyFromSpki(spki),
      get x509() {
        return (x509 ??= new X509Certificate(der));
      },
      commonName,
      notBefore: tbs.validity.notBefore.getTime(),
      notAfter: tbs.validity.notAfter.getTime(),
      isCA,
      signatureAlgorithm: cert.signatureAlgorithm.algorithm,
      extendedKeyUsage,
    };
  } catch (cause) {
    throw new CertificateError(role, 'certificate cannot be parsed', { cause });
  }
  if (parsedCache.size >= PARSED_CACHE_MAX) parsedCache.delete(parsedCache.keys().next().value as string);
  parsedCache.set(cacheKey, info);
  return info;
}

/** notary utils.ValidateCertificate: window sane, not SHA-1, RSA >= 2048, and (optionally) in date. */
export function validateCertificate(c: CertInfo, now: Date, checkExpiry: boolean, role = 'root'): void {
  const name = JSON.stringify(c.commonName);
  if (c.notBefore > c.notAfter) throw new CertificateError(role, `certificate ${name} has an invalid validity window`);
  if (WEAK_SIGNATURE_ALGORITHMS.has(c.signatureAlgorithm)) {
    throw new CertificateError(role, `certificate ${name} is signed with a SHA-1 (or weaker) algorithm`);
  }
  const key = c.publicKey;
  if (key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS) {
    throw new CertificateError(role, `certificate ${name} has an RSA key shorter than ${MIN_RSA_BITS} bits`);
  }
  // one day of leeway on notBefore for clock skew, none on notAfter (as notary)
  if (checkExpiry && now > c.notAfter) {
    throw new CertificateError(role, `certificate ${name} expired at ${c.notAfter.toISOString()}`, {
      certificate: { name: c.commonName, expired: c.notAfter },
    });
  }
  if (checkExpiry && now.getTime() + DAY_MS < c.notBefore.getTime()) {
    throw new CertificateError(role, `certificate ${name} is not valid before ${c.notBefore.toISOString()}`, { certificate: { name: c.commonName } });
  }
}

/** notary MatchCNToGun: exact, or a `prefix*` wildcard. */
export function matchCommonNameToGun(commonName: string, gun: string): boolean {
  if (commonName.endsWith('*')) return gun.startsWith(commonName.replace(/\*+$/, ''));
  return commonName === gun;
}

export interface CertBundle {
  readonly leaf: CertInfo;
  readonly intermediates: readonly CertInfo[];
}

/**
 * Split a root key's PEM bundle (notary parseAllCerts): exactly one non-CA leaf, and it comes first;
 * CA certificates are intermediates. Returns undefined for keys that are not usable certificate bundles.
 */
export function certBundleOf(pem: Buffer): CertBundle | undefined {
  let certs: CertInfo[];
  try {
    certs = decodePemCertificates(pem).map((der) => parseCertificate(der));
  } catch (err) {
    if (err instanceof CertificateError || err instanceof PemError) return undefined;
    throw err;
  }
  const leaves = certs.filter((c) => !c.isCA);
  if (leaves.length !== 1 || certs[0]?.isCA) return undefined;
  return { leaf: leaves[0] as CertInfo, intermediates: certs.filter((c) => c.isCA) };
}

/**
 * notary utils.CertBundleToKey: the TUF key for leaf + intermediates, re-encoded as PEM the way Go
 * writes it. Its ID is what root signatures must name. Undefined for keys other than RSA and ECDSA.
 */
export function bundleToKey(leaf: CertInfo, intermediates: readonly CertInfo[]): PublicKey | undefined {
  const type = leaf.publicKey.asymmetricKeyType;
  const keyType = type === 'rsa' ? 'rsa-x509' : type === 'ec' ? 'ecdsa-x509' : undefined;
  if (!keyType) return undefined;
  const pem = [leaf, ...intermediates].map((c) => encodePemCertificate(c.der)).join('');
  return makePublicKey(keyType, Buffer.from(pem, 'latin1'));
}

const EKU_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const EKU_CODE_SIGNING = '1.3.6.1.5.5.7.3.3';
const EKU_ANY = '2.5.29.37.0';
const MAX_CHAIN = 5;

/**
 * Does `leaf` chain to one of `anchors` through `intermediates`, every link in date at `now`, every
 * issuer a CA? (notary caCheck uses x509.Verify). Go's default usage is serverAuth; certificates made
 * by the notary CLI carry codeSigning only, so either (or anyExtendedKeyUsage, or none) is accepted.
 */
export function chainsToAnchor(
  leaf: CertInfo,
  intermediates: readonly CertInfo[],
  anchors: readonly CertInfo[],
  now: Date,
): boolean {
  const usable = (c: CertInfo) =>
    now >= c.notBefore &&
    now <= c.notAfter &&
    (c.extendedKeyUsage === undefined || c.extendedKeyUsage.some((u) => u === EKU_SERVER_AUTH || u === EKU_CODE_SIGNING || u === EKU_ANY));
  const issued = (child: CertInfo, parent: CertInfo) =>
    parent.isCA && usable(parent) && child.x509.checkIssued(parent.x509) && child.x509.verify(parent.x509.publicKey);
  const walk = (cert: CertInfo, depth: number, seen: Set<CertInfo>): boolean => {
    if (anchors.some((a) => a.der.equals(cert.der) || issued(cert, a))) return true;
    if (depth >= MAX_CHAIN) return false;
    return intermediates.some((i) => !seen.has(i) && issued(cert, i) && walk(i, depth + 1, new Set([...seen, i])));
  };
  return usable(leaf) && walk(leaf, 0, new Set());
}

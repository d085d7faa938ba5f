// TUF public keys as notary encodes them (notary tuf/data/keys.go, tuf/utils/x509.go).
//
//   keytype      keyval.public (base64 in JSON)
//   ecdsa        DER SubjectPublicKeyInfo
//   ecdsa-x509   PEM certificate bundle, leaf first
//   ed25519      raw 32-byte public key
//   rsa          DER SubjectPublicKeyInfo
//   rsa-x509     PEM certificate bundle, leaf first
//
// A key's ID is the SHA-256 of the canonical JSON {"keytype":T,"keyval":{"private":null,"public":B64}}.
// The canonical ID of an x509 key is the ID of its bare public key (type without "-x509", public =
// SPKI of the leaf): that is what `docker trust inspect` and `notary key list` show, and what users pin.

import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { CertificateError, DeserializationError } from '../errors.js';
import { clearCertificateCache, parseCertificate } from './certs.js';
import { canonicalBytes, type JsonValue } from './canonical.js';
import { decodePemCertificates, PemError } from './pem.js';

export const KNOWN_KEY_TYPES = ['ecdsa', 'ecdsa-x509', 'ed25519', 'rsa', 'rsa-x509'] as const;

export interface PublicKey {
  /** Content ID: sha256 of the canonical key JSON. */
  readonly id: string;
  /** keytype exactly as written. Unknown types are kept (notary's UnknownPublicKey); they verify nothing. */
  readonly keyType: string;
  /** keyval.public, decoded from base64. */
  readonly publicBytes: Buffer;
}

const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decode standard padded base64 as Go's encoding/json does for []byte (CR/LF ignored). */
export function decodeBase64(value: string, what: string, role?: string): Buffer {
  const compact = value.replace(/[\r\n]/g, '');
  if (!STD_BASE64.test(compact)) throw new DeserializationError(role, `${what} is not valid base64`);
  return Buffer.from(compact, 'base64');
}

export function keyIdOf(keyType: string, publicBytes: Buffer): string {
  const doc: JsonValue = {
    keytype: keyType,
    keyval: { private: null, public: publicBytes.toString('base64') },
  };
  return createHash('sha256').update(canonicalBytes(doc)).digest('hex');
}

export function makePublicKey(keyType: string, publicBytes: Buffer): PublicKey {
  return { id: keyIdOf(keyType, publicBytes), keyType, publicBytes };
}

/**
 * The ID users pin and `docker trust inspect` shows: for x509 keys, the ID of the bare public key;
 * for other keys, the key's own ID. Returns undefined when an x509 key's certificate is unusable.
 */
export function canonicalKeyId(key: PublicKey): string | undefined {
  if (!key.keyType.endsWith('-x509')) return key.id;
  const k = verifyingKeyOf(key);
  if (!k) return undefined;
  const spki = k.key.export({ format: 'der', type: 'spki' });
  const bareType = k.type === 'rsa' ? 'rsa' : k.type === 'ec' ? 'ecdsa' : undefined;
  return bareType ? keyIdOf(bareType, spki) : undefined;
}

export interface VerifyingKey {
  readonly key: KeyObject;
  readonly type: string | undefined;
  readonly namedCurve: string | undefined;
  readonly modulusLength: number | undefined;
}

const keyCache = new Map<string, VerifyingKey | null>();
const KEY_CACHE_MAX = 1024;

/**
 * The node:crypto key behind a TUF key, or null when the key cannot verify anything (unknown type,
 * unparsable bytes). Mirrors notary verifiers.go: x509 keys use the first certificate's public key.
 * Cached by content: the same keys are used on every refresh.
 */
export function keyObjectOf(key: PublicKey): KeyObject | null {
  return verifyingKeyOf(key)?.key ?? null;
}

export function verifyingKeyOf(key: PublicKey): VerifyingKey | null {
  const cacheKey = `${key.keyType} ${key.publicBytes.toString('base64')}`;
  const cached = keyCache.get(cacheKey);
  if (cached !== undefined) return cached;
  let k: KeyObject | null = null;
  try {
    switch (key.keyType) {
      case 'ecdsa':
      case 'rsa':
        k = publicKeyFromSpki(key.publicBytes);
        break;
      case 'ecdsa-x509':
      case 'rsa-x509': {
        const ders = decodePemCertificates(key.publicBytes);
        k = ders[0] ? parseCertificate(ders[0], 'key').publicKey : null;
        break;
      }
      case 'ed25519':
        k =
          key.publicBytes.length === 32
            ? createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: key.publicBytes.toString('base64url') }, format: 'jwk' })
            : null;
        break;
      default:
        k = null;
    }
  } catch (err) {
    if (!isKeyParseError(err)) throw err;
    k = null; // malformed key material: the key simply verifies nothing (notary ErrInvalid)
  }
  const details = k?.asymmetricKeyDetails;
  const result = k && { key: k, type: k.asymmetricKeyType, namedCurve: details?.namedCurve, modulusLength: details?.modulusLength };
  if (keyCache.size >= KEY_CACHE_MAX) keyCache.delete(keyCache.keys().next().value as string);
  keyCache.set(cacheKey, result);
  return result;
}

// SubjectPublicKeyInfo prefixes of uncompressed NIST curve points: key material after them is the
// point itself, which node:crypto imports about twice as fast as JWK than through its DER decoder
const EC_SPKI_PREFIXES: [Buffer, string, number][] = [
  [Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex'), 'P-256', 32],
  [Buffer.from('3076301006072a8648ce3d020106052b81040022036200', 'hex'), 'P-384', 48],
];

/** A public key from DER SubjectPublicKeyInfo (any algorithm node:crypto knows). */
export function publicKeyFromSpki(spki: Buffer): KeyObject {
  for (const [prefix, crv, size] of EC_SPKI_PREFIXES) {
    if (spki.length === prefix.length + 1 + 2 * size && spki.subarray(0, prefix.length).equals(prefix) && spki[prefix.length] === 0x04) {
      const point = spki.subarray(prefix.length + 1);
      const x = point.subarray(0, size).toString('base64url');
      const y = point.subarray(size).toString('base64url');
      return createPublicKey({ key: { kty: 'EC', crv, x, y }, format: 'jwk' });
    }
  }
  return createPublicKey({ key: spki, format: 'der', type: 'spki' });
}

/** Forget cached keys and certificates (benchmarks measure cold verification with this). */
export function clearKeyCaches(): void {
  keyCache.clear();
  clearCertificateCache();
}

/** node:crypto and certificate parsing failures on hostile key bytes. */
function isKeyParseError(err: unknown): boolean {
  return err instanceof PemError || err instanceof CertificateError || (err instanceof Error && 'code' in err && String(err.code).startsWith('ERR_'));
}

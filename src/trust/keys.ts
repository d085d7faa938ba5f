// node:crypto verifying keys for TUF keys (notary verifiers.go), and the canonical key IDs users pin.
// The key format and key IDs themselves are public-key.ts.
//
// The canonical ID of an x509 key is the ID of its bare public key (type without "-x509", public =
// SPKI of the leaf): that is what `docker trust inspect` and `notary key list` show, and what users pin.

import { createPublicKey, type KeyObject } from 'node:crypto';
import { CertificateError } from '../errors.js';
import { clearCertificateCache, parseCertificate } from './certs.js';
import { decodePemCertificates, PemError } from './pem.js';
import { KeyEncodingError, keyIdOf, publicKeyFromSpki, type PublicKey } from './public-key.js';

export const KNOWN_KEY_TYPES = ['ecdsa', 'ecdsa-x509', 'ed25519', 'rsa', 'rsa-x509'] as const;

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

/** Forget cached keys and certificates (benchmarks measure cold verification with this). */
export function clearKeyCaches(): void {
  keyCache.clear();
  clearCertificateCache();
}

/** node:crypto and certificate parsing failures on hostile key bytes. */
function isKeyParseError(err: unknown): boolean {
  return err instanceof PemError || err instanceof CertificateError || err instanceof KeyEncodingError || (err instanceof Error && 'code' in err && String(err.code).startsWith('ERR_'));
}

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

import { createHash, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { DeserializationError } from '../errors.js';
import { canonicalBytes, type JsonValue } from './canonical.js';
import { decodePemCertificates } from './pem.js';

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
  const certs = tryDecodeCertificates(key.publicBytes);
  const leaf = certs?.[0];
  if (!leaf) return undefined;
  const spki = leaf.publicKey.export({ format: 'der', type: 'spki' });
  const bareType = leaf.publicKey.asymmetricKeyType === 'rsa' ? 'rsa' : leaf.publicKey.asymmetricKeyType === 'ec' ? 'ecdsa' : undefined;
  return bareType ? keyIdOf(bareType, spki) : undefined;
}

function tryDecodeCertificates(pem: Buffer): X509Certificate[] | undefined {
  try {
    return decodePemCertificates(pem).map((der) => new X509Certificate(der));
  } catch {
    return undefined; // callers treat an unusable certificate as a key that verifies nothing
  }
}

const keyObjectCache = new WeakMap<PublicKey, KeyObject | null>();

/**
 * The node:crypto key behind a TUF key, or null when the key cannot verify anything (unknown type,
 * unparsable bytes). Mirrors notary verifiers.go: x509 keys use the first certificate's public key.
 */
export function keyObjectOf(key: PublicKey): KeyObject | null {
  const cached = keyObjectCache.get(key);
  if (cached !== undefined) return cached;
  let result: KeyObject | null = null;
  try {
    switch (key.keyType) {
      case 'ecdsa':
      case 'rsa':
        result = createPublicKey({ key: key.publicBytes, format: 'der', type: 'spki' });
        break;
      case 'ecdsa-x509':
      case 'rsa-x509': {
        const ders = decodePemCertificates(key.publicBytes);
        result = ders[0] ? new X509Certificate(ders[0]).publicKey : null;
        break;
      }
      case 'ed25519':
        result =
          key.publicBytes.length === 32
            ? createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: key.publicBytes.toString('base64url') }, format: 'jwk' })
            : null;
        break;
      default:
        result = null;
    }
  } catch {
    result = null; // malformed key material: the key simply verifies nothing (notary ErrInvalid)
  }
  keyObjectCache.set(key, result);
  return result;
}

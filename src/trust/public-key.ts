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
// Turning keys into node:crypto verifying keys (certificates included) is keys.ts.

import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { DeserializationError } from '../errors.js';
import { canonicalBytes, type JsonValue } from './canonical.js';

export interface PublicKey {
  /** Content ID: sha256 of the canonical key JSON. */
  readonly id: string;
  /** keytype exactly as written. Unknown types are kept (notary's UnknownPublicKey); they verify nothing. */
  readonly keyType: string;
  /** keyval.public, decoded from base64. */
  readonly publicBytes: Buffer;
}

// Standard padded base64: whole quartets, `=` only as the last one or two. A quartet-repeating pattern
// backtracks once per quartet and overflows V8's regexp stack on multi-megabyte values (RangeError).
const BASE64_CHARS = /^[A-Za-z0-9+/]*={0,2}$/;
/** Whether `s` is standard padded base64 (above); decodeBase64 strips CR/LF first, this does not. */
export const isStdBase64 = (s: string): boolean => s.length % 4 === 0 && BASE64_CHARS.test(s);

/** Decode standard padded base64 as Go's encoding/json does for []byte (CR/LF ignored). */
export function decodeBase64(value: string, what: string, role?: string): Buffer {
  const compact = value.replace(/[\r\n]/g, '');
  if (!isStdBase64(compact)) throw new DeserializationError(role, `${what} is not valid base64`);
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

// SubjectPublicKeyInfo prefixes of uncompressed NIST curve points: key material after them is the
// point itself, which node:crypto imports about twice as fast as JWK than through its DER decoder
const EC_SPKI_PREFIXES: [Buffer, string, number][] = [
  [Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex'), 'P-256', 32],
  [Buffer.from('3076301006072a8648ce3d020106052b81040022036200', 'hex'), 'P-384', 48],
];

/** Key bytes OpenSSL imports but Go's x509.ParsePKIXPublicKey refuses. */
export class KeyEncodingError extends Error {}

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
  const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  // OpenSSL ignores bytes after the SPKI and reads BER; Go x509.ParsePKIXPublicKey refuses both
  // ("trailing data after ASN.1 of public-key"), so notary's verifiers cannot use such a key either
  if (!key.export({ format: 'der', type: 'spki' }).equals(spki)) throw new KeyEncodingError('SubjectPublicKeyInfo is not exactly DER');
  return key;
}

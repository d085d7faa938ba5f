// Configured verification keys (cosign.pub, policy.json keyPath): PEM SubjectPublicKeyInfo of the four
// key types cosign and containers/image sign with, and the one signature check each allows.
// (sigstore/sigstore pkg/signature LoadVerifier; containers/image signature/sigstore: every key type
// signs SHA-256 digests, Ed25519 the raw payload; cosign's own P-384 keys sign SHA-384 digests.)

import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { ConfigError } from '../errors.js';

export type KeyKind = 'ecdsa-p256' | 'ecdsa-p384' | 'ed25519' | 'rsa';

export interface VerificationKey {
  /** sha256 of the DER SubjectPublicKeyInfo, hex: how audit lines and `signers` name the key. */
  readonly id: string;
  readonly kind: KeyKind;
  readonly key: KeyObject;
  /** Where it came from (a file name), for messages. */
  readonly source: string;
}

/** Digest algorithms accepted per key type; `null` = Ed25519 over the raw message. */
const HASHES: Record<KeyKind, readonly (string | null)[]> = {
  'ecdsa-p256': ['sha256'],
  'ecdsa-p384': ['sha256', 'sha384'],
  ed25519: [null],
  rsa: ['sha256'],
};

const RSA_MIN_BITS = 2048;

/** Parse one PEM public key; anything but the four accepted kinds is a configuration error. */
export function parsePublicKey(pem: string, source: string): VerificationKey {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch (cause) {
    throw new ConfigError(`${source}: not a PEM public key`, { cause });
  }
  const kind = kindOf(key, source);
  const der = key.export({ type: 'spki', format: 'der' });
  return { id: createHash('sha256').update(der).digest('hex'), kind, key, source };
}

function kindOf(key: KeyObject, source: string): KeyKind {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec':
      if (details.namedCurve === 'prime256v1') return 'ecdsa-p256';
      if (details.namedCurve === 'secp384r1') return 'ecdsa-p384';
      throw new ConfigError(`${source}: ECDSA curve ${details.namedCurve ?? '?'} is not accepted (P-256, P-384)`);
    case 'ed25519':
      return 'ed25519';
    case 'rsa':
      if ((details.modulusLength ?? 0) < RSA_MIN_BITS) throw new ConfigError(`${source}: RSA keys need at least ${RSA_MIN_BITS} bits`);
      return 'rsa';
    default:
      throw new ConfigError(`${source}: key type ${key.asymmetricKeyType ?? '?'} is not accepted (ECDSA P-256/P-384, Ed25519, RSA)`);
  }
}

/** Whether `signature` (ASN.1 DER for ECDSA, raw for Ed25519, PKCS#1 v1.5 for RSA) signs `message`. */
export function verifyRaw(k: VerificationKey, message: Buffer, signature: Buffer): boolean {
  for (const hash of HASHES[k.kind]) {
    try {
      if (verify(hash, message, k.key, signature)) return true;
    } catch {
      // malformed signature bytes (attacker-controlled) are simply not a valid signature
    }
  }
  return false;
}

/** Whether `key` is the same public key as `other` (a certificate's, a bundle's). */
export function sameKey(k: VerificationKey, other: KeyObject): boolean {
  const a = k.key.export({ type: 'spki', format: 'der' });
  const b = other.export({ type: 'spki', format: 'der' });
  return a.equals(b);
}

/** `verifyRaw` for a key that came with the signature (a certificate's): its kind decides the check. */
export function verifyWithKeyObject(key: KeyObject, message: Buffer, signature: Buffer): boolean {
  let kind: KeyKind;
  try {
    kind = kindOf(key, 'signing key');
  } catch (err) {
    if (err instanceof ConfigError) return false; // a key type nobody may sign with
    throw err;
  }
  return verifyRaw({ id: '', kind, key, source: '' }, message, signature);
}

// Signature checks as notary performs them (notary tuf/signed/verify.go, verifiers.go).
//
// node:crypto does the arithmetic: measured on the target machines it verifies P-256 ~30x and
// Ed25519 ~12x faster than @noble/curves, and alone does RSA. @noble/curves stays as an independent
// oracle in the tests (bench/ compares the two).

import { constants, createHash, verify as cryptoVerify } from 'node:crypto';
import { DeserializationError, KeyIdMismatchError, UnsignedMetadataError } from '../errors.js';
import { verifyingKeyOf } from './keys.js';
import type { PublicKey } from './public-key.js';

export interface Signature {
  readonly keyId: string;
  /** Lower-cased, as notary's SigAlgorithm.UnmarshalJSON does. */
  readonly method: string;
  readonly sig: Buffer;
}

export interface RoleKeys {
  readonly name: string;
  /** Keys by the ID the delegating metadata lists them under. */
  readonly keys: ReadonlyMap<string, PublicKey>;
  readonly threshold: number;
}

const MIN_RSA_BITS = 2048;
// ECDSA signatures are raw r||s, each half the curve's byte size (notary verifiers.go)
const ECDSA_HALF_BYTES: Record<string, number> = { prime256v1: 32, secp384r1: 48, secp521r1: 66 };

/** Most signatures one file may carry: notary writes one per signing key. */
export const MAX_SIGNATURES = 64;
/**
 * Most distinct keys whose signatures are checked for one file, each at most once. notary checks
 * every signature, so a file repeating a failing signature costs it a verification per copy; no
 * notary signer writes two signatures by one key, nor needs more keys than this for a threshold.
 */
export const MAX_KEYS_TRIED = 8;

type Outcome = { readonly signers: string[] } | { readonly mismatch: string } | { readonly short: string };

/**
 * Verify that at least `role.threshold` distinct keys of the role signed `message`.
 * Returns the IDs of the keys whose signatures verified. The verdict for the same bytes, signatures
 * and keys is remembered: a refresh of unchanged trust data costs one hash of it, no crypto.
 */
export function verifyThreshold(message: Buffer, signatures: readonly Signature[], role: RoleKeys): string[] {
  if (signatures.length === 0) throw new UnsignedMetadataError(role.name, 'metadata has no signatures');
  if (signatures.length > MAX_SIGNATURES) {
    throw new DeserializationError(role.name, `${signatures.length} signatures: more than the ${MAX_SIGNATURES} trustgate checks`);
  }
  if (!Number.isSafeInteger(role.threshold) || role.threshold < 1 || role.threshold > MAX_KEYS_TRIED) {
    throw new UnsignedMetadataError(role.name, `invalid threshold ${role.threshold} (1 to ${MAX_KEYS_TRIED})`);
  }
  const outcome = rememberedVerdict(message, signatures, role, () => checkThreshold(message, signatures, role));
  if ('signers' in outcome) return [...outcome.signers];
  if ('mismatch' in outcome) throw new KeyIdMismatchError(role.name, outcome.mismatch);
  throw new UnsignedMetadataError(role.name, outcome.short);
}

function checkThreshold(message: Buffer, signatures: readonly Signature[], role: RoleKeys): Outcome {
  const valid = new Set<string>();
  const tried = new Set<string>();
  for (const s of signatures) {
    const key = role.keys.get(s.keyId);
    if (!key) continue;
    // notary verify.go: a signature whose keyid is not the content ID of the key fails hard
    if (key.id !== s.keyId) return { mismatch: `signature key ID ${s.keyId} does not match the key's own ID ${key.id}` };
    // each key once: the threshold counts distinct keys, and a repeated bad signature costs nothing more
    if (tried.has(key.id) || tried.size >= MAX_KEYS_TRIED) continue;
    tried.add(key.id);
    if (verifySignature(key, s.method, s.sig, message)) valid.add(key.id);
  }
  if (valid.size < role.threshold) return { short: `valid signatures from ${valid.size} key(s), threshold is ${role.threshold}` };
  return { signers: [...valid] };
}

/** One signature by one key over `message`. False for unknown methods and mismatched key types. */
export function verifySignature(key: PublicKey, method: string, sig: Buffer, message: Buffer): boolean {
  const vk = verifyingKeyOf(key);
  if (!vk) return false;
  switch (method) {
    case 'ecdsa': {
      if (key.keyType !== 'ecdsa' && key.keyType !== 'ecdsa-x509') return false;
      if (vk.type !== 'ec') return false;
      const half = ECDSA_HALF_BYTES[vk.namedCurve ?? ''];
      if (!half || sig.length !== 2 * half) return false;
      // SHA-256 whatever the curve; high-S values are valid (Go does not normalise S)
      return safeVerify('sha256', message, { key: vk.key, dsaEncoding: 'ieee-p1363' }, sig);
    }
    case 'eddsa':
      if (key.keyType !== 'ed25519' || sig.length !== 64) return false;
      return safeVerify(null, message, { key: vk.key }, sig);
    case 'rsapss':
    case 'rsapkcs1v15': {
      if (key.keyType !== 'rsa' && key.keyType !== 'rsa-x509') return false;
      if (vk.type !== 'rsa') return false;
      const modulusBits = vk.modulusLength ?? 0;
      // Go rsa.VerifyPSS and VerifyPKCS1v15 take only a signature of exactly the modulus size;
      // OpenSSL's PSS check also takes one with its leading zero bytes dropped
      if (modulusBits < MIN_RSA_BITS || sig.length !== Math.ceil(modulusBits / 8)) return false;
      const padding =
        method === 'rsapss'
          ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
          : { padding: constants.RSA_PKCS1_PADDING };
      return safeVerify('sha256', message, { key: vk.key, ...padding }, sig);
    }
    default:
      return false;
  }
}

type VerifyKey = Parameters<typeof cryptoVerify>[2];

/** node:crypto throws on some malformed signatures (e.g. an RSA value above the modulus): that is a failed signature. */
function safeVerify(algorithm: string | null, message: Buffer, key: VerifyKey, sig: Buffer): boolean {
  verifications++;
  try {
    return cryptoVerify(algorithm, message, key, sig);
  } catch (err) {
    if (err instanceof Error && 'code' in err && String(err.code).startsWith('ERR_')) return false;
    throw err;
  }
}

// ---- verdicts of unchanged bytes --------------------------------------------------------------

let verifications = 0;

/** Signature verifications performed by this process (crypto operations, not remembered verdicts). */
export function signatureVerifications(): number {
  return verifications;
}

const VERDICTS_MAX = 4096;
const verdicts = new Map<string, Outcome>();

/** Forget remembered verdicts (benchmarks measure cold verification with this). */
export function clearVerdicts(): void {
  verdicts.clear();
}

/**
 * The outcome for exactly these inputs, computed once while remembered (least recently used goes
 * first). The key is a SHA-256 over everything the outcome depends on: the message, every signature,
 * the role's name and threshold, and each listed key ID with the key's own content ID.
 */
function rememberedVerdict(message: Buffer, signatures: readonly Signature[], role: RoleKeys, compute: () => Outcome): Outcome {
  const h = createHash('sha256');
  const field = (b: Buffer | string) => {
    const bytes = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
    h.update(`${bytes.length}:`).update(bytes);
  };
  field(role.name);
  field(String(role.threshold));
  for (const id of [...role.keys.keys()].sort()) field(`${id} ${(role.keys.get(id) as PublicKey).id}`);
  field(message);
  for (const sig of signatures) {
    field(`${sig.keyId} ${sig.method}`);
    field(sig.sig);
  }
  const key = h.digest('base64');
  const known = verdicts.get(key);
  if (known) {
    verdicts.delete(key);
    verdicts.set(key, known);
    return known;
  }
  const outcome = compute();
  if (verdicts.size >= VERDICTS_MAX) verdicts.delete(verdicts.keys().next().value as string);
  verdicts.set(key, outcome);
  return outcome;
}

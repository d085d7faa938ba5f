// What a signature says it signs, checked against what is being served. Two payload formats:
//   simple signing (cosign's tag convention, skopeo, podman): {"critical":{"identity":{"docker-reference"},
//     "image":{"docker-manifest-digest"},"type":"cosign container image signature"},"optional":{…}}
//     (containers/image signature/internal/sigstore_payload.go; cosign pkg/cosign/payload)
//   an in-toto Statement in a DSSE envelope (cosign v3 bundles): predicateType
//     https://sigstore.dev/cosign/sign/v1, the manifest digest as a subject.
// Parsed only after the signature over these exact bytes verified. Pure.

import { SigstoreError } from '../errors.js';
import { checkIdentity, identityMatches, type SignedIdentity } from './reference.js';

export const SIMPLE_SIGNING_TYPE = 'cosign container image signature';
export const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';
const IN_TOTO_TYPES = new Set(['https://in-toto.io/Statement/v1', 'https://in-toto.io/Statement/v0.1']);
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

export type PayloadKind = 'simple-signing' | 'in-toto';

export interface SignedSubject {
  /** `sha256:<hex>` of a manifest. */
  readonly digest: string;
  /** The repository it is named under; undefined: an in-toto subject without a name binds the digest only. */
  readonly reference?: string | undefined;
}

export interface PayloadClaims {
  readonly subjects: readonly SignedSubject[];
  /** The signer's own claimed signing time (epoch ms), when the payload carries one. */
  readonly claimedTime?: number | undefined;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function malformed(what: string): never {
  throw new SigstoreError('SIGSTORE_SIGNATURE_MALFORMED', `signed payload: ${what}`);
}

function exactKeys(o: Obj, keys: readonly string[], where: string): void {
  const have = Object.keys(o);
  if (have.length !== keys.length || !keys.every((k) => k in o)) malformed(`${where} must have exactly ${keys.join(', ')}`);
}

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return malformed('not JSON');
  }
}

/** containers/image untrustedSigstorePayload: the critical section has exactly these fields. */
export function parseSimpleSigning(bytes: Buffer): PayloadClaims {
  const doc = parseJson(bytes);
  if (!isObj(doc) || !isObj(doc.critical)) return malformed('no critical section');
  const { critical } = doc;
  exactKeys(critical, ['identity', 'image', 'type'], 'critical');
  if (critical.type !== SIMPLE_SIGNING_TYPE) malformed(`type is not ${JSON.stringify(SIMPLE_SIGNING_TYPE)}`);
  if (!isObj(critical.image) || !isObj(critical.identity)) return malformed('critical.image and critical.identity must be objects');
  exactKeys(critical.image, ['docker-manifest-digest'], 'critical.image');
  exactKeys(critical.identity, ['docker-reference'], 'critical.identity');
  const digest = critical.image['docker-manifest-digest'];
  const reference = critical.identity['docker-reference'];
  if (typeof digest !== 'string' || typeof reference !== 'string') malformed('digest and reference must be strings');
  const optional = doc.optional;
  if (optional !== undefined && optional !== null && !isObj(optional)) malformed('optional must be an object');
  const ts = isObj(optional) ? optional.timestamp : undefined;
  const claimedTime = typeof ts === 'number' && Number.isSafeInteger(ts) && ts > 0 ? ts * 1000 : undefined;
  return { subjects: [{ digest, reference }], claimedTime };
}

/** An in-toto Statement signing image digests with cosign's signature predicate. */
export function parseInTotoStatement(bytes: Buffer): PayloadClaims {
  const doc = parseJson(bytes);
  if (!isObj(doc) || typeof doc._type !== 'string' || !IN_TOTO_TYPES.has(doc._type)) return malformed('not an in-toto Statement');
  if (doc.predicateType !== COSIGN_SIGN_PREDICATE) malformed(`predicateType is not ${COSIGN_SIGN_PREDICATE} (an attestation, not an image signature)`);
  if (!Array.isArray(doc.subject) || doc.subject.length === 0 || doc.subject.length > 64) return malformed('subject must list 1–64 entries');
  const subjects: SignedSubject[] = [];
  for (const s of doc.subject as unknown[]) {
    if (!isObj(s) || !isObj(s.digest) || typeof s.digest.sha256 !== 'string') return malformed('a subject without a sha256 digest');
    subjects.push({ digest: `sha256:${s.digest.sha256}`, reference: typeof s.name === 'string' && s.name !== '' ? s.name : undefined });
  }
  return { subjects };
}

export function parsePayload(kind: PayloadKind, bytes: Buffer): PayloadClaims {
  return kind === 'simple-signing' ? parseSimpleSigning(bytes) : parseInTotoStatement(bytes);
}

/**
 * The payload must sign exactly `digest` and name the pulled repository (`<upstream>/<repository>`)
 * per `identity`. An in-toto subject without a name binds the digest only (cosign v3 writes none).
 */
export function checkClaims(claims: PayloadClaims, digest: string, pulled: string, identity: SignedIdentity): void {
  const mine = claims.subjects.filter((s) => s.digest === digest);
  if (mine.length === 0) {
    throw new SigstoreError('SIGSTORE_PAYLOAD_MISMATCH', `the signature signs ${claims.subjects.map((s) => s.digest).join(', ')}, not ${digest}`);
  }
  if (mine.some((s) => s.reference === undefined || identityMatches(s.reference, pulled, identity))) return;
  checkIdentity(mine[0]?.reference ?? '', pulled, identity);
}

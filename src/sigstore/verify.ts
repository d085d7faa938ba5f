// Verifying one signature of one manifest, in named steps (sigstore-js packages/verify Verifier.verify;
// cosign pkg/cosign/verify.go VerifyImageSignatures):
//   1. the signing key: a configured key whose signature check passes, or a certificate chaining to the
//      trusted root's Fulcio CAs at the time proven by Rekor or a timestamp authority, with a matching
//      identity (issuer + subject);
//   2. the transparency log: every entry verified offline from what the signature carries (signed entry
//      timestamp or inclusion proof), and at least one when the policy requires it;
//   3. the payload: it signs exactly the served digest and names the pulled repository.
// Pure: a candidate, the authorities and the expected subject in; a VerifiedSignature or SigstoreError out.

import { PolicyError, VerificationError, Verifier, type SignedEntity, type TrustMaterial } from '@sigstore/verify';
import { SigstoreError, type SigstoreErrorCode } from '../errors.js';
import type { Candidate } from './formats.js';
import type { VerificationKey } from './keys.js';
import { checkClaims, parsePayload } from './payload.js';
import type { SignedIdentity } from './reference.js';

export type TlogPolicy = 'required' | 'optional';

export interface IdentityMatcher {
  readonly issuer: string;
  /** Exact subject (SAN: an email, a URI such as a workflow ref), or … */
  readonly subject?: string | undefined;
  /** … a pattern matched against the whole subject. */
  readonly subjectRegExp?: RegExp | undefined;
}

export interface Authorities {
  readonly keys: readonly VerificationKey[];
  readonly identities: readonly IdentityMatcher[];
  /** From the trusted root: Fulcio CAs, Rekor keys, CT logs, TSAs. */
  readonly trust?: TrustMaterial | undefined;
  /** Explicit tlog policy; undefined: required for keyless, optional for keys. */
  readonly tlog?: TlogPolicy | undefined;
}

export interface Expected {
  readonly digest: string;
  /** `<upstream name>/<repository>`. */
  readonly pulled: string;
  readonly signedIdentity: SignedIdentity;
}

export interface VerifiedSignature {
  /** `key:<sha256 of the key>` or `<issuer> <subject>`: for the audit line. */
  readonly signer: string;
  readonly keyless: boolean;
  /** Earliest signing time proven by a verified tlog entry or RFC 3161 timestamp (epoch ms). */
  readonly provenTime?: number | undefined;
  /** The signing time the signed payload itself claims (epoch ms). */
  readonly claimedTime?: number | undefined;
  readonly format: Candidate['format'];
}

const EMPTY_TRUST: TrustMaterial = { certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: [], publicKey: noKeyHint };

function noKeyHint(): never {
  throw new VerificationError({ code: 'PUBLIC_KEY_ERROR', message: 'no key for this hint' });
}

export function verifyCandidate(c: Candidate, auth: Authorities, expected: Expected): VerifiedSignature {
  const signer = c.entity.key.$case === 'certificate' ? verifyKeyless(c.entity, auth) : verifyWithKeys(c.entity, auth);
  const claims = parsePayload(c.payloadKind, c.payload);
  checkClaims(claims, expected.digest, expected.pulled, expected.signedIdentity);
  return { ...signer, provenTime: provenTime(c.entity), claimedTime: claims.claimedTime, format: c.format };
}

type Signer = Pick<VerifiedSignature, 'signer' | 'keyless'>;

function verifyWithKeys(entity: SignedEntity, auth: Authorities): Signer {
  if (auth.keys.length === 0) throw new SigstoreError('SIGSTORE_KEY_MISMATCH', 'signed with a bare key, but this policy accepts only certificate identities');
  const key = auth.keys.find((k) => entity.signature.verifySignature(k.key));
  if (key === undefined) throw new SigstoreError('SIGSTORE_KEY_MISMATCH', `the signature verifies with none of the configured keys (${auth.keys.map((k) => k.source).join(', ')})`);
  const required = auth.tlog === 'required';
  requireTlog(entity, required);
  const trust = auth.trust ?? EMPTY_TRUST;
  // without a trusted root, log entries cannot be checked: with tlog optional they are ignored, as
  // `cosign verify --insecure-ignore-tlog` ignores them
  const checked: SignedEntity = auth.trust === undefined ? { ...entity, tlogEntries: [], timestamps: [] } : entity;
  const material: TrustMaterial = { ...trust, certificateAuthorities: [], ctlogs: [], publicKey: () => ({ publicKey: key.key, validFor: () => true }) };
  runVerifier(new Verifier(material, { tlogThreshold: required ? 1 : 0, ctlogThreshold: 0, timestampThreshold: 0 }), checked);
  return { signer: `key:${key.id}`, keyless: false };
}

function verifyKeyless(entity: SignedEntity, auth: Authorities): Signer {
  if (auth.identities.length === 0) throw new SigstoreError('SIGSTORE_KEY_MISMATCH', 'signed with a certificate, but this policy accepts only keys');
  if (auth.trust === undefined) throw new SigstoreError('SIGSTORE_CERTIFICATE_INVALID', 'a certificate signature needs a trusted root to verify against');
  requireTlog(entity, auth.tlog !== 'optional');
  const verifier = new Verifier(auth.trust, {
    tlogThreshold: auth.tlog === 'optional' ? 0 : 1,
    // Fulcio embeds SCTs; a trusted root without CT logs (a private deployment) cannot check them
    ctlogThreshold: auth.trust.ctlogs.length > 0 ? 1 : 0,
    // the certificate's validity must cover a proven signing time (Rekor or a TSA)
    timestampThreshold: 1,
  });
  const signer = runVerifier(verifier, entity);
  const issuer = signer.identity?.extensions?.issuer;
  const subject = signer.identity?.subjectAlternativeName;
  const match = auth.identities.find((id) => id.issuer === issuer && subject !== undefined && subjectMatches(id, subject));
  if (match === undefined) {
    throw new SigstoreError('SIGSTORE_IDENTITY_MISMATCH', `signed by ${subject ?? '(no subject)'} from ${issuer ?? '(no issuer)'}, which no configured identity accepts`);
  }
  return { signer: `${issuer} ${subject}`, keyless: true };
}

function subjectMatches(id: IdentityMatcher, subject: string): boolean {
  if (id.subject !== undefined) return id.subject === subject;
  return id.subjectRegExp !== undefined && id.subjectRegExp.test(subject);
}

function requireTlog(entity: SignedEntity, required: boolean): void {
  if (required && entity.tlogEntries.length === 0) throw new SigstoreError('SIGSTORE_TLOG_MISSING', 'the signature has no transparency log entry, and the policy requires one');
}

const CODES: Record<string, SigstoreErrorCode> = {
  TLOG_ERROR: 'SIGSTORE_TLOG_MISSING',
  TLOG_INCLUSION_PROOF_ERROR: 'SIGSTORE_TLOG_INVALID',
  TLOG_INCLUSION_PROMISE_ERROR: 'SIGSTORE_TLOG_INVALID',
  TLOG_MISSING_INCLUSION_ERROR: 'SIGSTORE_TLOG_INVALID',
  TLOG_BODY_ERROR: 'SIGSTORE_TLOG_INVALID',
  CERTIFICATE_ERROR: 'SIGSTORE_CERTIFICATE_INVALID',
  PUBLIC_KEY_ERROR: 'SIGSTORE_KEY_MISMATCH',
  SIGNATURE_ERROR: 'SIGSTORE_KEY_MISMATCH',
  TIMESTAMP_ERROR: 'SIGSTORE_TIMESTAMP_INVALID',
  UNTRUSTED_SIGNER_ERROR: 'SIGSTORE_IDENTITY_MISMATCH',
};

function runVerifier(verifier: Verifier, entity: SignedEntity): ReturnType<Verifier['verify']> {
  try {
    return verifier.verify(entity);
  } catch (err) {
    if (err instanceof VerificationError || err instanceof PolicyError) {
      throw new SigstoreError(CODES[err.code] ?? 'SIGSTORE_SIGNATURE_MALFORMED', err.message, { cause: err });
    }
    // the verifier parses attacker-controlled entries (JSON bodies, ASN.1) and throws plain errors on garbage
    if (err instanceof Error) throw new SigstoreError('SIGSTORE_SIGNATURE_MALFORMED', `unverifiable signature material: ${err.message}`, { cause: err });
    throw err;
  }
}

/** The earliest time a verified timestamp proves (the Verifier above checked every one it counts). */
function provenTime(entity: SignedEntity): number | undefined {
  const times = entity.timestamps.map((t) => (t.$case === 'transparency-log' ? Number(t.tlogEntry.integratedTime) * 1000 : t.timestamp.signingTime.getTime()));
  return times.length > 0 ? Math.min(...times) : undefined;
}

/** How far a refusal got: the farthest-reaching failure among several signatures is the one reported. */
const RANK: readonly SigstoreErrorCode[] = [
  'SIGSTORE_PAYLOAD_MISMATCH',
  'SIGSTORE_REPOSITORY_MISMATCH',
  'SIGSTORE_IDENTITY_MISMATCH',
  'SIGSTORE_CERTIFICATE_INVALID',
  'SIGSTORE_TLOG_MISSING',
  'SIGSTORE_TLOG_INVALID',
  'SIGSTORE_TIMESTAMP_INVALID',
  'SIGSTORE_KEY_MISMATCH',
  'SIGSTORE_SIGNATURE_MALFORMED',
  'SIGSTORE_NO_SIGNATURE',
];

/** Any one verifying signature suffices; otherwise the most telling failure, with all of them attached. */
export function verifyAny(candidates: readonly Candidate[], malformed: readonly SigstoreError[], auth: Authorities, expected: Expected): VerifiedSignature[] {
  const verified: VerifiedSignature[] = [];
  const failures: SigstoreError[] = [...malformed];
  for (const c of candidates) {
    try {
      verified.push(verifyCandidate(c, auth, expected));
    } catch (err) {
      if (!(err instanceof SigstoreError)) throw err;
      failures.push(err);
    }
  }
  if (verified.length > 0) return verified;
  if (failures.length === 0) throw new SigstoreError('SIGSTORE_NO_SIGNATURE', `${expected.pulled}@${expected.digest} has no Sigstore signature`);
  const best = [...failures].sort((a, b) => RANK.indexOf(a.code) - RANK.indexOf(b.code))[0] as SigstoreError;
  throw new SigstoreError(best.code, `${expected.pulled}@${expected.digest}: ${best.message}`, { cause: best, failures });
}

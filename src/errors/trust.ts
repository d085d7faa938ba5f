// Errors about what a trust system says: untrusted repository data, verified but not signed, and
// Sigstore signatures. Imported through ../errors.ts.

import { TrustgateError } from './base.js';

// ---- untrusted repository data -------------------------------------------------------------

export type RepositoryErrorCode =
  | 'METADATA_MALFORMED'
  | 'WRONG_TYPE'
  | 'SIGNATURE_THRESHOLD'
  | 'KEY_ID_MISMATCH'
  | 'ROLLBACK'
  | 'EXPIRED'
  | 'LENGTH_OR_HASH_MISMATCH'
  | 'TOO_LARGE'
  | 'CERTIFICATE_INVALID'
  | 'PINNING_FAILED'
  | 'ROOT_ROTATION_FAILED'
  | 'DELEGATION_INVALID';

export abstract class RepositoryError extends TrustgateError {
  abstract override readonly code: RepositoryErrorCode;
  /** The TUF role whose metadata failed, when known. */
  readonly role: string | undefined;
  constructor(role: string | undefined, message: string, options?: { cause?: unknown }) {
    super(role ? `${role}: ${message}` : message, options);
    this.role = role;
  }
}

/** Not JSON, wrong shape, wrong types, non-integer or out-of-range numbers, too deep. */
export class DeserializationError extends RepositoryError {
  readonly code = 'METADATA_MALFORMED' as const;
}

/** `_type` is not the type of the role being loaded. */
export class WrongTypeError extends RepositoryError {
  readonly code = 'WRONG_TYPE' as const;
}

/** Fewer distinct valid signatures than the role's threshold. */
export class UnsignedMetadataError extends RepositoryError {
  readonly code = 'SIGNATURE_THRESHOLD' as const;
}

/** A signature names a key whose content does not hash to that ID (notary ErrInvalidKeyID). */
export class KeyIdMismatchError extends RepositoryError {
  readonly code = 'KEY_ID_MISMATCH' as const;
}

/** A version lower than one already trusted: a rollback. */
export class BadVersionError extends RepositoryError {
  readonly code = 'ROLLBACK' as const;
  constructor(
    role: string,
    readonly version: number,
    readonly minimum: number,
  ) {
    super(role, `version ${version} is lower than the trusted version ${minimum} (rollback)`);
  }
}

/** Metadata past its `expires` at the reference time: a freeze. */
export class ExpiredMetadataError extends RepositoryError {
  readonly code = 'EXPIRED' as const;
  constructor(
    role: string,
    readonly expires: Date,
  ) {
    super(role, `trust data expired at ${expires.toISOString()}`);
  }
}

/** Bytes do not match the length/hashes their parent signed: mix-and-match or tampering. */
export class LengthOrHashMismatchError extends RepositoryError {
  readonly code = 'LENGTH_OR_HASH_MISMATCH' as const;
}

/** A remote file exceeded the size its parent allows (or the configured cap). */
export class FileTooLargeError extends RepositoryError {
  readonly code = 'TOO_LARGE' as const;
}

/** A root certificate is unusable: CN/GUN mismatch, expired, SHA-1 signed, weak RSA, unparsable. */
export class CertificateError extends RepositoryError {
  readonly code = 'CERTIFICATE_INVALID' as const;
  /** The certificate at fault, and since when it is no longer valid, when known. */
  readonly certificate: CertificateFault | undefined;
  constructor(role: string | undefined, message: string, options?: { cause?: unknown; certificate?: CertificateFault }) {
    super(role, message, options);
    this.certificate = options?.certificate;
  }
}

/** A certificate by subject CN, the root key ID (as root.json lists it) and, if expired, its notAfter. */
export interface CertificateFault {
  readonly name: string;
  readonly keyId?: string | undefined;
  readonly expired?: Date | undefined;
}

/** The root does not match the configured trust pinning (or TOFU is disabled). */
export class TrustPinningError extends RepositoryError {
  readonly code = 'PINNING_FAILED' as const;
}

/** A new root is not signed by the previous root's keys at the previous threshold. */
export class RootRotationError extends RepositoryError {
  readonly code = 'ROOT_ROTATION_FAILED' as const;
}

/** A delegation is not a direct child of its delegator, or its name/keys are invalid. */
export class DelegationError extends RepositoryError {
  readonly code = 'DELEGATION_INVALID' as const;
}

// ---- verified, but not signed ---------------------------------------------------------------

export abstract class NotSignedError extends TrustgateError {
  abstract override readonly code: 'NOT_SIGNED' | 'NO_TRUST_DATA';
}

/** The tag is not in `targets/releases` or `targets` (or only in another delegation). */
export class TagNotSignedError extends NotSignedError {
  readonly code = 'NOT_SIGNED' as const;
  constructor(
    readonly gun: string,
    readonly tag: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${gun}:${tag} is not signed: ${reason}`, options);
  }
}

/** The Notary server has no trust data at all for the repository. */
export class NoTrustDataError extends NotSignedError {
  readonly code = 'NO_TRUST_DATA' as const;
  constructor(readonly gun: string) {
    super(`no trust data for ${gun}`);
  }
}

// ---- Sigstore (cosign) signatures -------------------------------------------------------------

export type SigstoreErrorCode =
  | 'SIGSTORE_NO_SIGNATURE'
  | 'SIGSTORE_SIGNATURE_MALFORMED'
  | 'SIGSTORE_KEY_MISMATCH'
  | 'SIGSTORE_IDENTITY_MISMATCH'
  | 'SIGSTORE_CERTIFICATE_INVALID'
  | 'SIGSTORE_TLOG_MISSING'
  | 'SIGSTORE_TLOG_INVALID'
  | 'SIGSTORE_TIMESTAMP_INVALID'
  | 'SIGSTORE_PAYLOAD_MISMATCH'
  | 'SIGSTORE_REPOSITORY_MISMATCH';

/**
 * A Sigstore refusal for one manifest digest: no signature was found, or none verified. When several
 * signatures failed, `code` is the most telling one and `failures` holds every candidate's error.
 */
export class SigstoreError extends TrustgateError {
  constructor(
    readonly code: SigstoreErrorCode,
    message: string,
    options?: { cause?: unknown; failures?: readonly SigstoreError[] },
  ) {
    super(message, options);
    this.failures = options?.failures ?? [];
  }
  readonly failures: readonly SigstoreError[];
}

/**
 * A tag now points at a manifest older than one trustgate already served for it (by signing time,
 * or by the order first seen): cosign signatures sign digests, not tags.
 */
export class TagRollbackError extends TrustgateError {
  readonly code = 'TAG_ROLLBACK' as const;
  constructor(
    readonly gun: string,
    readonly tag: string,
    readonly digest: string,
    readonly newest: string,
  ) {
    super(`${gun}:${tag} points at ${digest}, older than ${newest} already served for it (tag rollback)`);
  }
}

/** `trust: all`: Notary and Sigstore both verified the tag, but for different digests. */
export class TrustSystemsDisagreeError extends TrustgateError {
  readonly code = 'TRUST_SYSTEMS_DISAGREE' as const;
}

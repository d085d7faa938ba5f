// One error module for the whole project (python-tuf exceptions.py, sigstore error.ts).
// Every error carries a stable literal `code`; tests assert class + code, never messages.
// Families:
//   RepositoryError  — trust data from a repository failed verification (untrusted input)
//   NotSignedError   — trust data verified, but it does not sign what was asked for
//   SigstoreError    — Sigstore (cosign) signatures missing, or failing verification (untrusted input)
//   TransportError   — a server could not be reached or answered outside the protocol
//   ConfigError      — the operator's configuration or command line is wrong

export abstract class TrustgateError extends Error {
  abstract readonly code: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

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

// ---- transport -----------------------------------------------------------------------------

export type TransportErrorCode = 'UNREACHABLE' | 'TIMEOUT' | 'HTTP_STATUS' | 'AUTH_FAILED';

export abstract class TransportError extends TrustgateError {
  abstract override readonly code: TransportErrorCode;
  constructor(
    readonly url: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** DNS, connect, TLS or reset: the server could not be talked to. */
export class UnreachableError extends TransportError {
  readonly code = 'UNREACHABLE' as const;
}

/** A connect, headers or idle-body timeout. */
export class TimeoutError extends TransportError {
  readonly code = 'TIMEOUT' as const;
}

/** The server answered with a status the protocol does not allow here. */
export class HttpStatusError extends TransportError {
  readonly code = 'HTTP_STATUS' as const;
  constructor(
    url: string,
    readonly status: number,
    message?: string,
  ) {
    super(url, message ?? `${redactUrl(url)} answered HTTP ${status}`);
  }
}

/** Credentials were refused, or a token could not be obtained. */
export class AuthError extends TransportError {
  readonly code = 'AUTH_FAILED' as const;
}

// ---- the proxy's own refusals ------------------------------------------------------------

/**
 * An upstream redirected somewhere trustgate neither goes nor sends clients: an address outside the
 * public ranges on a host not listed in `blobRedirectHosts`, too many hops, or not http(s).
 */
export class RedirectRefusedError extends TrustgateError {
  readonly code = 'REDIRECT_REFUSED' as const;
  constructor(
    readonly location: string,
    readonly why: 'address' | 'hops' | 'scheme' | 'invalid',
    message: string,
  ) {
    super(message);
  }
}

/** The client asked for something malformed (bad name, tag, digest, query). */
export class RequestInvalidError extends TrustgateError {
  constructor(
    readonly code: 'NAME_INVALID' | 'TAG_INVALID' | 'DIGEST_INVALID' | 'BAD_REQUEST',
    message: string,
  ) {
    super(message);
  }
}

/** The client did not authenticate (or not validly) to a trustgate that requires it. */
export class UnauthorizedError extends TrustgateError {
  readonly code = 'UNAUTHORIZED' as const;
  constructor(
    message: string,
    /** The WWW-Authenticate challenge to send back. */
    readonly challenge: string,
  ) {
    super(message);
  }
}

/** A method or endpoint the proxy does not serve (pushes, deletes, catalog). */
export class UnsupportedError extends TrustgateError {
  readonly code = 'UNSUPPORTED' as const;
}

/** The policy denies the repository, or the client named no configured upstream. */
export class PolicyDeniedError extends TrustgateError {
  constructor(
    readonly code: 'POLICY_DENIED' | 'UNKNOWN_UPSTREAM' | 'DIGEST_NOT_SIGNED',
    message: string,
  ) {
    super(message);
  }
}

/** The upstream registry served manifest bytes that are not the signed ones. */
export class ManifestMismatchError extends TrustgateError {
  readonly code = 'DIGEST_MISMATCH' as const;
}

/** The upstream registry has no such manifest or blob. */
export class UpstreamNotFoundError extends TrustgateError {
  constructor(
    readonly code: 'MANIFEST_UNKNOWN' | 'BLOB_UNKNOWN' | 'NAME_UNKNOWN',
    message: string,
  ) {
    super(message);
  }
}

// ---- the shared store ----------------------------------------------------------------------

/**
 * The shared store (Redis) cannot answer with authority: down, too slow, lost data, or holding a
 * repository's state only in part. Trust is never bootstrapped on such an answer.
 */
export class StoreUnavailableError extends TrustgateError {
  readonly code = 'STORE_UNAVAILABLE' as const;
  /** `store` names it for the operator (e.g. `redis://10.0.0.5:6379/0`), never with credentials. */
  constructor(readonly store: string, message: string, options?: { cause?: unknown }) {
    super(`${store}: ${message}`, options);
  }
}

// ---- configuration -------------------------------------------------------------------------

export class ConfigError extends TrustgateError {
  readonly code = 'CONFIG_INVALID' as const;
}

/** A command was given an argument it cannot use (a malformed image reference, a digest for a tag). */
export class UsageError extends TrustgateError {
  readonly code = 'USAGE' as const;
}

/** A trust store directory others could write, or a symlink or foreign entry inside it. */
export class UnsafeStoreError extends ConfigError {}

/** A trust store directory whose index is missing or unreadable: its rollback floors are unknown. */
export class StoreDamagedError extends ConfigError {}

/** Another process holds a trust store directory's lock for longer than we wait. */
export class StoreLockedError extends ConfigError {}

/** Strip userinfo and query from a URL before it goes into a message or a log line. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    return u.toString();
  } catch {
    return '<invalid url>';
  }
}

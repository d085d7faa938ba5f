// Errors of the service around the trust decision: transport, the proxy's own refusals, the shared
// store and the configuration. Imported through ../errors.ts.

import { TrustgateError } from './base.js';

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

// Every refusal leaves as a registry error envelope (distribution registry/api/errcode):
//   {"errors":[{"code":"DENIED","message":"…","detail":{"reason":"EXPIRED", …}}]}
// `code` is one of the registry's own codes, so every client understands it; `detail.reason` is
// trustgate's stable error code, so a person or a script knows exactly what to fix.

import {
  CertificateError,
  type CertificateFault,
  ManifestMismatchError,
  NotSignedError,
  PolicyDeniedError,
  RepositoryError,
  RequestInvalidError,
  SigstoreError,
  TagRollbackError,
  TrustSystemsDisagreeError,
  StoreUnavailableError,
  TrustgateError,
  UnauthorizedError,
  UnsupportedError,
  UpstreamNotFoundError,
} from '../errors.js';

export type RegistryCode =
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'TAG_INVALID'
  | 'DIGEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'BLOB_UNKNOWN'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'UNAVAILABLE';

export const STATUS: Record<RegistryCode, number> = {
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  TAG_INVALID: 400,
  DIGEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  MANIFEST_INVALID: 400,
  BLOB_UNKNOWN: 404,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  UNAVAILABLE: 503,
};

export interface RegistryError {
  readonly status: number;
  readonly body: { errors: { code: RegistryCode; message: string; detail: Record<string, unknown> }[] };
}

/** The registry code a trustgate error is reported as. */
export function registryCodeOf(err: TrustgateError): RegistryCode {
  if (err instanceof RequestInvalidError) return err.code === 'BAD_REQUEST' ? 'UNSUPPORTED' : err.code;
  if (err instanceof UnsupportedError) return 'UNSUPPORTED';
  if (err instanceof UnauthorizedError) return 'UNAUTHORIZED';
  if (err instanceof UpstreamNotFoundError) return err.code;
  // verification said no: not signed, trust data failed, bytes not the signed ones, policy
  if (err instanceof NotSignedError || err instanceof RepositoryError || err instanceof ManifestMismatchError) return 'DENIED';
  if (err instanceof PolicyDeniedError || err instanceof SigstoreError || err instanceof TagRollbackError || err instanceof TrustSystemsDisagreeError) return 'DENIED';
  // transport failures, our own credentials refused upstream, configuration: not the client's fault
  return 'UNAVAILABLE';
}

export function registryError(code: RegistryCode, message: string, detail: Record<string, unknown> = {}): RegistryError {
  return { status: STATUS[code], body: { errors: [{ code, message, detail }] } };
}

/** The envelope for any error; unknown errors reveal nothing but that something failed. */
export function toRegistryError(err: unknown): RegistryError {
  if (err instanceof TrustgateError) {
    const detail: Record<string, unknown> = { reason: err.code };
    if (err instanceof RepositoryError && err.role) detail.role = err.role;
    if (err instanceof CertificateError && err.certificate) detail.certificate = certificateDetail(err.certificate);
    if (err instanceof StoreUnavailableError) detail.store = err.store;
    const e = registryError(registryCodeOf(err), err.message, detail);
    // a malformed request is the client's error (400), whatever registry code carries it
    return err instanceof RequestInvalidError && err.code === 'BAD_REQUEST' ? { ...e, status: 400 } : e;
  }
  return registryError('UNAVAILABLE', 'internal error', { reason: 'INTERNAL' });
}

function certificateDetail(c: CertificateFault): Record<string, string> {
  return { name: c.name, ...(c.keyId ? { keyId: c.keyId } : {}), ...(c.expired ? { expired: c.expired.toISOString() } : {}) };
}

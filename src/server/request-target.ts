// The request target, parsed once, before anything else looks at it. Registry clients send
// origin-form targets (`/v2/…`); an absolute-form one (`GET http://host/v2/… HTTP/1.1`, meant for
// proxies) is refused, although the router would route it — so client authentication and routing
// always decide on the same path, and no spelling of a target reaches a route without its check.
//
// Linear work only: a length cap first, then splitting on `/`; the grammar's regular expressions see
// single names and references, never a whole attacker-sized path (a backtracking pattern over a
// 16 KB path cost milliseconds per request).

import type { IncomingHttpHeaders } from 'node:http';
import { RequestInvalidError, UnsupportedError, UpstreamNotFoundError } from '../errors.js';

/** Longest request target served: a repository name (255), a digest or tag, a Notary file name. */
export const MAX_TARGET_LENGTH = 2048;

const SHA256_DIGEST = /^sha256:[0-9a-f]{64}$/;

export interface RequestTarget {
  readonly path: string;
  /** The query without `?` ('' when none). */
  readonly query: string;
}

/** The path and query of an origin-form request target; anything else is refused. */
export function parseRequestTarget(raw: string): RequestTarget {
  if (raw.length > MAX_TARGET_LENGTH) throw new RequestInvalidError('NAME_INVALID', `request target longer than ${MAX_TARGET_LENGTH} characters`);
  if (!raw.startsWith('/')) throw new RequestInvalidError('BAD_REQUEST', 'the request target must be a path (trustgate is a registry, not an HTTP proxy)');
  const q = raw.indexOf('?');
  return q < 0 ? { path: raw, query: '' } : { path: raw.slice(0, q), query: raw.slice(q + 1) };
}

export type RegistryRoute =
  | { readonly kind: 'manifests' | 'blobs' | 'tags' | 'referrers'; readonly repository: string; readonly reference: string }
  | { readonly kind: 'trust-file'; readonly gun: string; readonly name: string };

/**
 * The registry route of a `/v2/…` path, without decoding anything (encoded paths are refused):
 * `<name>/manifests|blobs/<reference>`, `<name>/tags/list`, `<name>/referrers/<sha256 digest>`, or the Notary read API's
 * `<GUN>/_trust/tuf/<file>.json` (repository components never start with `_`).
 */
export function parseRoute(path: string): RegistryRoute {
  if (path.includes('%') || path.includes('\\')) throw new RequestInvalidError('NAME_INVALID', 'percent-encoded or escaped paths are not accepted');
  if (path === '/v2/_catalog') throw new UnsupportedError('the catalog is not served');
  // only a path with a `_trust` segment followed by more can name a trust file; every other path is
  // cut at its last two slashes, not split (a warm pull parses one path per request)
  return (path.includes('/_trust/') ? trustFileRoute(path) : undefined) ?? registryRoute(path);
}

/** `/v2/<GUN>/_trust/tuf/<file>.json`, or undefined for any other path. */
function trustFileRoute(path: string): RegistryRoute | undefined {
  const segments = path.split('/');
  if (segments[0] !== '' || segments[1] !== 'v2') return undefined;
  const trust = segments.indexOf('_trust', 2);
  if (trust <= 2 || segments[trust + 1] !== 'tuf' || trust + 2 >= segments.length) return undefined;
  const file = segments.slice(trust + 2).join('/');
  return file.endsWith('.json') ? { kind: 'trust-file', gun: segments.slice(2, trust).join('/'), name: file.slice(0, -'.json'.length) } : undefined;
}

/** `/v2/<name>/<kind>/<reference>`: at least five segments, the last two the kind and reference. */
function registryRoute(path: string): RegistryRoute {
  if (!path.startsWith('/v2/')) throw notRegistryPath();
  const last = path.lastIndexOf('/');
  const previous = path.lastIndexOf('/', last - 1);
  // the slash after `v2` is at 3: a second-to-last slash there or before means fewer than five segments
  if (previous <= 3) throw notRegistryPath();
  const repository = path.slice(4, previous);
  const kind = path.slice(previous + 1, last);
  const reference = path.slice(last + 1);
  if (kind === 'tags' && reference === 'list') return { kind: 'tags', repository, reference };
  if (kind === 'referrers' && SHA256_DIGEST.test(reference)) return { kind: 'referrers', repository, reference };
  if ((kind === 'manifests' || kind === 'blobs') && reference !== '') return { kind, repository, reference };
  throw notRegistryPath();
}

function notRegistryPath(): UpstreamNotFoundError {
  return new UpstreamNotFoundError('NAME_UNKNOWN', 'not a registry API path');
}

/** Paths served without client authentication: liveness and readiness, and metrics unless `metrics.auth`. */
export function isOpenPath(path: string, metricsAuth: boolean): boolean {
  return path === '/healthz' || path === '/readyz' || (path === '/metrics' && !metricsAuth);
}

/** A request no registry client sends: no Host header, or a body on a GET or HEAD. */
export function requestShapeError(method: string, headers: IncomingHttpHeaders): RequestInvalidError | undefined {
  if (!headers.host) return new RequestInvalidError('BAD_REQUEST', 'an HTTP/1.1 request needs a Host header');
  if (headers['transfer-encoding'] !== undefined || Number(headers['content-length'] ?? 0) > 0) {
    return new RequestInvalidError('BAD_REQUEST', `a ${method} request carries no body`);
  }
  return undefined;
}

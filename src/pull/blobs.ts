// Blobs are content-addressed and clients verify their digests, so they pass through untouched:
//   stream    bytes flow through trustgate without buffering (Range honoured; an upstream 307 is
//             followed under the upstream's redirect policy, and the Authorization header is not
//             sent on to another host)
//   redirect  the client gets a 307 to where the upstream itself would send it (a CDN or object
//             store) if the redirect policy allows it, or to the upstream's own blob URL: the bytes
//             never cross trustgate
// Either way an upstream cannot aim trustgate or its clients at non-public addresses it did not list
// (http/redirects.ts).
// The use case decides where the bytes come from; the route streams them (server/blob-route.ts).

import { request, type Dispatcher } from 'undici';
import { RedirectRefusedError, UpstreamNotFoundError } from '../errors.js';
import { discard, headerValue, toTransportError } from '../http/client.js';
import type { RedirectPolicy } from '../http/redirects.js';
import type { PullTarget } from './target.js';

/** Request headers a client may send on to the upstream for a blob. */
export const BLOB_REQUEST_HEADERS = ['range', 'if-range', 'if-none-match', 'if-modified-since'] as const;
/** Upstream response headers passed back to the client. */
export const BLOB_RESPONSE_HEADERS = [
  'content-type',
  'content-length',
  'content-range',
  'accept-ranges',
  'docker-content-digest',
  'etag',
  'last-modified',
  'cache-control',
] as const;

export type BlobAnswer =
  /** Stream the upstream's answer to `url` back, with these request headers. */
  | { readonly kind: 'stream'; readonly url: string; readonly method: 'GET' | 'HEAD'; readonly headers: Record<string, string> }
  /** Send the client elsewhere: the bytes never cross trustgate. */
  | { readonly kind: 'redirect'; readonly location: string; readonly digest: string };

export class BlobService {
  /**
   * `redirectDispatcher` must not follow redirects: redirect mode reads the upstream's Location and
   * checks it against the upstream's policy in `redirects` (by upstream name).
   */
  constructor(
    private readonly redirectDispatcher: Dispatcher,
    private readonly redirects: ReadonlyMap<string, RedirectPolicy>,
  ) {}

  /** Where the bytes of blob `digest` come from, for a client request with `clientHeaders`. */
  async get(p: PullTarget, digest: string, method: 'GET' | 'HEAD', clientHeaders: Record<string, unknown>): Promise<BlobAnswer> {
    const url = p.upstream.url(p.repository, 'blobs', digest);
    const authorization = await p.upstream.blobAuthorization(p.repository, digest);
    if (p.upstream.config.blobs === 'redirect' && method === 'GET') {
      return { kind: 'redirect', location: await this.upstreamLocation(p, url, digest, authorization), digest };
    }
    const headers = pickHeaders(clientHeaders, BLOB_REQUEST_HEADERS);
    if (authorization) headers.authorization = authorization;
    return { kind: 'stream', url, method, headers };
  }

  /** Where the upstream sends a client for the blob, or its own blob URL. */
  private async upstreamLocation(p: PullTarget, url: string, digest: string, authorization: string | undefined): Promise<string> {
    let res: Dispatcher.ResponseData;
    try {
      // HEAD: registries redirect HEAD as they redirect GET, and no body starts flowing
      res = await request(url, { method: 'HEAD', headers: authorization ? { authorization } : {}, dispatcher: this.redirectDispatcher });
    } catch (err) {
      throw toTransportError(url, err);
    }
    discard(res.body); // only the status and Location matter
    if (res.statusCode === 404) throw new UpstreamNotFoundError('BLOB_UNKNOWN', `${p.upstream.name} has no blob ${p.repository}@${digest}`);
    const location = res.statusCode >= 300 && res.statusCode < 400 ? headerValue(res.headers.location) : undefined;
    if (!location) return url;
    let target: URL;
    try {
      target = new URL(location, url);
    } catch {
      throw new RedirectRefusedError(location, 'invalid', `${p.upstream.name} redirected blob ${digest} to an invalid URL`);
    }
    await (this.redirects.get(p.upstream.name) as RedirectPolicy).checkLocation(target);
    return target.toString();
  }
}

/** The first value of each named header that is present. */
export function pickHeaders(headers: Record<string, unknown>, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of names) {
    const v = headers[n];
    if (typeof v === 'string') out[n] = v;
    else if (Array.isArray(v) && typeof v[0] === 'string') out[n] = v[0];
  }
  return out;
}

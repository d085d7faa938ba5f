// One upstream registry: manifests fetched whole (bounded) for verification, blobs streamed,
// tag lists read; anonymous, basic or bearer-token authentication per repository scope.

import type { UpstreamConfig } from '../config/config.js';
import { HttpStatusError, ManifestMismatchError, UpstreamNotFoundError } from '../errors.js';
import { UpstreamAuth } from '../http/auth.js';
import { headerValue, HttpClient, type HttpClientOptions } from '../http/client.js';
import { MANIFEST_TYPES, OCI_INDEX } from './media-types.js';

export interface FetchedManifest {
  readonly mediaType: string | undefined;
  readonly body: Buffer;
  /** The digest the upstream claims (never trusted, only logged on mismatch). */
  readonly claimedDigest: string | undefined;
}

const MAX_TAG_LIST = 16 << 20;
const MAX_BLOB_REDIRECTS = 3;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

export class RegistryUpstream {
  readonly name: string;
  readonly base: URL;
  readonly http: HttpClient;
  readonly auth: UpstreamAuth;

  constructor(
    readonly config: UpstreamConfig,
    http: HttpClientOptions,
  ) {
    this.name = config.name;
    this.base = new URL(config.registry + '/');
    this.http = new HttpClient({ ...http, ca: config.caPem });
    this.auth = new UpstreamAuth(this.base, this.http, { credentials: config.credentials, allowedRealms: config.allowedRealms });
  }

  url(repository: string, kind: 'manifests' | 'blobs' | 'tags', ref: string): string {
    return new URL(`v2/${repository}/${kind}/${ref}`, this.base).toString();
  }

  scope(repository: string): string {
    return `repository:${repository}:pull`;
  }

  /** GET a manifest (by digest, or by tag for `allow` repositories), reading at most `maxBytes`. */
  async fetchManifest(repository: string, reference: string, accept: readonly string[], maxBytes: number): Promise<FetchedManifest> {
    const url = this.url(repository, 'manifests', reference);
    const res = await this.auth.get(url, this.scope(repository), {
      headers: { accept: [...accept] },
      maxBytes,
      tooLarge: (limit) => new ManifestMismatchError(`the upstream manifest for ${repository}@${reference} is larger than ${limit} bytes`),
    });
    if (res.status === 404) throw new UpstreamNotFoundError('MANIFEST_UNKNOWN', `${this.name} has no manifest ${repository}@${reference}`);
    if (res.status !== 200) throw new HttpStatusError(url, res.status);
    return {
      mediaType: headerValue(res.headers['content-type'])?.split(';')[0]?.trim(),
      body: res.body,
      claimedDigest: headerValue(res.headers['docker-content-digest']),
    };
  }

  /** The upstream's tag list (one page, as the query asks). */
  async fetchTags(repository: string, query: string): Promise<{ body: Buffer; link: string | undefined }> {
    const url = this.url(repository, 'tags', 'list') + query;
    const res = await this.auth.get(url, this.scope(repository), {
      maxBytes: MAX_TAG_LIST,
      tooLarge: () => new HttpStatusError(url, 502, `the tag list of ${repository} is larger than ${MAX_TAG_LIST} bytes`),
    });
    if (res.status === 404) throw new UpstreamNotFoundError('NAME_UNKNOWN', `${this.name} has no repository ${repository}`);
    if (res.status !== 200) throw new HttpStatusError(url, res.status);
    return { body: res.body, link: headerValue(res.headers.link) };
  }

  /**
   * The digest a tag points at now: HEAD with every manifest type accepted (so nothing is converted).
   * Untrusted: whoever serves it must still serve bytes that hash to it. Undefined when the registry
   * sends no digest header (the caller then hashes a GET).
   */
  async headManifest(repository: string, reference: string): Promise<{ digest: string | undefined; mediaType: string | undefined }> {
    const url = this.url(repository, 'manifests', reference);
    const res = await this.auth.get(url, this.scope(repository), {
      method: 'HEAD',
      headers: { accept: [...MANIFEST_TYPES] },
      maxBytes: 0,
      tooLarge: () => new HttpStatusError(url, 502, `a HEAD of ${repository}:${reference} came with a body`),
    });
    if (res.status === 404) throw new UpstreamNotFoundError('MANIFEST_UNKNOWN', `${this.name} has no manifest ${repository}:${reference}`);
    if (res.status !== 200) throw new HttpStatusError(url, res.status);
    const digest = headerValue(res.headers['docker-content-digest']);
    return { digest: digest !== undefined && DIGEST.test(digest) ? digest : undefined, mediaType: headerValue(res.headers['content-type'])?.split(';')[0]?.trim() };
  }

  /** A blob read whole, at most `maxBytes`, following the upstream's redirects (credentials stay on its origin). */
  async fetchBlob(repository: string, digest: string, maxBytes: number, tooLarge: (limit: number) => Error): Promise<Buffer> {
    let url = this.url(repository, 'blobs', digest);
    for (let hop = 0; hop <= MAX_BLOB_REDIRECTS; hop++) {
      const own = new URL(url).origin === this.base.origin;
      const opts = { maxBytes, tooLarge };
      const res = own ? await this.auth.get(url, this.scope(repository), opts) : await this.http.getBuffered(url, opts);
      const location = headerValue(res.headers.location);
      if ([301, 302, 303, 307, 308].includes(res.status) && location) {
        url = new URL(location, url).toString();
        continue;
      }
      if (res.status === 404) throw new UpstreamNotFoundError('BLOB_UNKNOWN', `${this.name} has no blob ${repository}@${digest}`);
      if (res.status !== 200) throw new HttpStatusError(url, res.status);
      return res.body;
    }
    throw new HttpStatusError(url, 508, `${this.name}: more than ${MAX_BLOB_REDIRECTS} redirects for ${repository}@${digest}`);
  }

  /**
   * The OCI referrers index of `digest` (distribution-spec "Listing referrers"), filtered by artifact type
   * when the registry supports it. Undefined when the registry has no referrers API (404, or an answer
   * that is not an index): the caller falls back to the `sha256-<hex>` tag schema.
   */
  async fetchReferrers(repository: string, digest: string, artifactType: string | undefined, maxBytes: number, tooLarge: (limit: number) => Error): Promise<Buffer | undefined> {
    const base = new URL(`v2/${repository}/referrers/${digest}`, this.base).toString();
    const url = artifactType === undefined ? base : `${base}?artifactType=${encodeURIComponent(artifactType)}`;
    const res = await this.auth.get(url, this.scope(repository), { headers: { accept: [OCI_INDEX] }, maxBytes, tooLarge });
    if (res.status === 404 || res.status === 405 || res.status === 400) return undefined;
    if (res.status !== 200) throw new HttpStatusError(url, res.status);
    const type = headerValue(res.headers['content-type'])?.split(';')[0]?.trim();
    return type === OCI_INDEX ? res.body : undefined;
  }

  /** Authorization for streaming a blob of `repository` (learned once per token lifetime). */
  blobAuthorization(repository: string, digest: string): Promise<string | undefined> {
    return this.auth.authorizationFor(this.scope(repository), this.url(repository, 'blobs', digest));
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}

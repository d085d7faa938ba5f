// One upstream registry: manifests fetched whole (bounded) for verification, blobs streamed,
// tag lists read; anonymous, basic or bearer-token authentication per repository scope.

import type { UpstreamConfig } from '../config/config.js';
import { HttpStatusError, ManifestMismatchError, UpstreamNotFoundError } from '../errors.js';
import { UpstreamAuth } from '../http/auth.js';
import { headerValue, HttpClient, type HttpClientOptions } from '../http/client.js';

export interface FetchedManifest {
  readonly mediaType: string | undefined;
  readonly body: Buffer;
  /** The digest the upstream claims (never trusted, only logged on mismatch). */
  readonly claimedDigest: string | undefined;
}

const MAX_TAG_LIST = 16 << 20;

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

  /** Authorization for streaming a blob of `repository` (learned once per token lifetime). */
  blobAuthorization(repository: string, digest: string): Promise<string | undefined> {
    return this.auth.authorizationFor(this.scope(repository), this.url(repository, 'blobs', digest));
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}

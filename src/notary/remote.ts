// Reading trust data from a Notary server: GET /v2/<GUN>/_trust/tuf/<name>.json, where <name> is a
// role (`timestamp`), a consistent name (`snapshot.<sha256hex>`) or a versioned root (`2.root`).

import { ConfigError, FileTooLargeError, HttpStatusError, redactUrl } from '../errors.js';
import { UpstreamAuth, type AuthOptions } from '../http/auth.js';
import { HttpClient, type HttpClientOptions } from '../http/client.js';
import { DOCKER_HUB, isValidGun } from '../registry/reference.js';
import { METADATA_FILE_NAME } from '../trust/metadata.js';

/** The one seam between the updater and the network (python-tuf FetcherInterface). */
export interface MetadataFetcher {
  /** The file's bytes, or undefined when the server has no such file (404). */
  fetch(gun: string, name: string, maxBytes: number): Promise<Buffer | undefined>;
  /** Where trust data comes from, for messages. */
  readonly origin: string;
}

/** Docker's default trust server: notary.docker.io for Docker Hub, else https://<registry>. */
export function defaultNotaryUrl(registry: string): string {
  return registry === DOCKER_HUB ? 'https://notary.docker.io' : `https://${registry}`;
}

export function metadataUrl(base: URL, gun: string, name: string): string {
  if (!isValidGun(gun)) throw new ConfigError(`invalid repository name ${JSON.stringify(gun)}`);
  if (!METADATA_FILE_NAME.test(name)) throw new ConfigError(`invalid metadata name ${JSON.stringify(name)}`);
  return new URL(`v2/${gun}/_trust/tuf/${name}.json`, base.href.endsWith('/') ? base : new URL(base.href + '/')).toString();
}

export interface NotaryRemoteOptions extends HttpClientOptions, AuthOptions {}

export class NotaryRemote implements MetadataFetcher {
  readonly origin: string;
  private readonly base: URL;
  private readonly http: HttpClient;
  private readonly auth: UpstreamAuth;

  constructor(baseUrl: string, opts: NotaryRemoteOptions = {}) {
    try {
      this.base = new URL(baseUrl);
    } catch (cause) {
      throw new ConfigError(`invalid Notary URL ${JSON.stringify(baseUrl)}`, { cause });
    }
    if (this.base.protocol !== 'https:' && this.base.protocol !== 'http:') {
      throw new ConfigError(`Notary URL must be http(s): ${redactUrl(baseUrl)}`);
    }
    this.origin = redactUrl(this.base.toString());
    this.http = new HttpClient(opts);
    this.auth = new UpstreamAuth(this.base, this.http, opts);
  }

  async fetch(gun: string, name: string, maxBytes: number): Promise<Buffer | undefined> {
    const url = metadataUrl(this.base, gun, name);
    const role = name.replace(/^\d+\./, '').replace(/\.[0-9a-f]{64}$/, '');
    const res = await this.auth.get(url, `repository:${gun}:pull`, {
      maxBytes,
      tooLarge: (limit) => new FileTooLargeError(role, `the Notary server sent more than ${limit} bytes`),
    });
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw new HttpStatusError(url, res.status);
    return res.body;
  }

  /** The connection pool, shared with the readiness check. */
  get dispatcher() {
    return this.http.dispatcher;
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}

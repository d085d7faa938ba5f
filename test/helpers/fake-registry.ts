// An in-process registry for pull-path unit tests: serves manifests by digest on a loopback port, and
// lets a test make it lie — other bytes for a digest, a false Docker-Content-Digest — which a real
// registry cannot be made to do. Every request is recorded.

import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Test } from 'tap';
import type { UpstreamConfig } from '../../src/config/config.js';
import { RegistryUpstream } from '../../src/registry/upstream.js';

export interface FakeManifest {
  readonly body: Buffer;
  /** The Content-Type sent; '' sends none. */
  readonly mediaType: string;
  /** Docker-Content-Digest to send instead of the true one (a lie), or null to send none. */
  readonly claimedDigest?: string | null;
}

/** A whole response a test chooses: tag lists, referrers, blob HEADs and redirects. */
export interface RawAnswer {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: Buffer | string;
}

export const digestOf = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export class FakeRegistry {
  /** What the registry serves, by the reference in the request path (a digest or a tag). */
  readonly manifests = new Map<string, FakeManifest>();
  readonly requests: string[] = [];
  /** Request methods and headers, in the order of `requests`. */
  readonly methods: string[] = [];
  readonly headers: Record<string, string | string[] | undefined>[] = [];
  /** When set, every request without this Authorization header gets a 401 with a Basic challenge. */
  requireAuthorization: string | undefined;
  private readonly raw = new Map<string, RawAnswer>();
  private server?: Server;
  url = '';

  /** Store a manifest under its true digest (and any tags); returns the digest. */
  push(body: Buffer | string, mediaType: string, ...tags: string[]): string {
    const bytes = Buffer.from(body);
    const digest = digestOf(bytes);
    for (const ref of [digest, ...tags]) this.manifests.set(ref, { body: bytes, mediaType });
    return digest;
  }

  /** From now on, answer `reference` with `m` (bytes and headers of a test's choosing). */
  serve(reference: string, m: FakeManifest): void {
    this.manifests.set(reference, m);
  }

  /** From now on, answer a request for exactly `path` (query included) with `answer`. */
  answer(path: string, answer: RawAnswer): void {
    this.raw.set(path, answer);
  }

  async start(t: Test, config: Partial<UpstreamConfig> = {}): Promise<RegistryUpstream> {
    this.server = createServer((req, res) => {
      this.requests.push(req.url ?? '');
      this.methods.push(req.method ?? '');
      this.headers.push(req.headers);
      if (this.requireAuthorization !== undefined && req.headers.authorization !== this.requireAuthorization) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="fake"' }).end();
        return;
      }
      const raw = this.raw.get(req.url ?? '');
      if (raw) {
        res.writeHead(raw.status, raw.headers ?? {}).end(req.method === 'HEAD' ? undefined : raw.body);
        return;
      }
      const m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(req.url ?? '');
      const found = m ? this.manifests.get(decodeURIComponent(m[2] as string)) : undefined;
      if (!found) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
        return;
      }
      const claimed = found.claimedDigest === undefined ? digestOf(found.body) : found.claimedDigest;
      res.writeHead(200, {
        ...(found.mediaType === '' ? {} : { 'content-type': found.mediaType }),
        'content-length': String(found.body.length),
        ...(claimed === null ? {} : { 'docker-content-digest': claimed }),
      });
      res.end(req.method === 'HEAD' ? undefined : found.body);
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    const upstream = new RegistryUpstream(
      { name: 'docker.io', registry: this.url, notary: 'offline', maxStalenessMs: 0, default: true, allowedRealms: [], blobs: 'stream', ...config },
      {},
    );
    t.teardown(async () => {
      await upstream.close();
      await this.stop();
    });
    return upstream;
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s?.listening) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

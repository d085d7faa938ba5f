// Signed images for a trust bundle: each exported tag's manifest — fetched by the signed digest and
// checked against its signed length and SHA-256 — its child manifests and every blob, written in the
// layout of the containers `dir:` transport (images/<GUN>/_tags/<tag>/: `version`, `manifest.json`,
// `<hex>.manifest.json` for an index's children, `<hex>` for blobs), ready for
// `skopeo copy --all --preserve-digests dir:… docker://…` into the registry on the far side. (An OCI
// image layout would do for OCI images only: skopeo does not look up Docker media types in one.)
// Every file is hashed while it is written; trustgate on the far side verifies manifests against the
// imported trust data again at every pull. `_tags` cannot be part of a repository name (no component
// starts with `_`), so repository `a/b` tag `c` and repository `a/b/c` never share a directory.

import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { rootCertificates } from 'node:tls';
import { join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Agent, interceptors, request, type Dispatcher } from 'undici';
import { ManifestMismatchError, UpstreamNotFoundError } from '../errors.js';
import { toTransportError, discard } from '../http/client.js';
import { DOCKER_MANIFEST_V1, DOCKER_MANIFEST_V1_SIGNED, INDEX_TYPES, MANIFEST_TYPES, declaredMediaType } from '../registry/media-types.js';
import type { RegistryUpstream } from '../registry/upstream.js';
import { NO_PROGRESS, type Progress } from './progress.js';

const MAX_MANIFEST = 4 << 20;
const MAX_DEPTH = 2; // an index's children are image manifests

interface Descriptor {
  readonly mediaType?: string;
  readonly digest: string;
  readonly size: number;
  readonly urls?: readonly string[];
}

export interface ImageExport {
  readonly tag: string;
  readonly digest: string;
  readonly manifests: number;
  readonly blobs: number;
  readonly bytes: number;
  /** An index's child manifests, by digest (their signatures may travel too). */
  readonly children: readonly string[];
  /** Every file written for the image, relative to its directory, with its size. */
  readonly files: ReadonlyMap<string, number>;
}

const DIGEST = /^sha256:([0-9a-f]{64})$/;

function descriptors(value: unknown): Descriptor[] {
  if (!Array.isArray(value)) return [];
  return value.filter(
    (d): d is Descriptor =>
      typeof d === 'object' && d !== null && typeof (d as Descriptor).digest === 'string' && Number.isSafeInteger((d as Descriptor).size) && (d as Descriptor).size >= 0,
  );
}

export const DIR_TRANSPORT_VERSION = 'Directory Transport Version: 1.1\n';

/** Writes the signed images of one repository, a directory per tag. */
export class ImageExporter {
  private readonly dispatcher: Dispatcher;
  /** Blobs fetched in this run, by digest: a blob two tags share is fetched once, then copied. */
  private readonly fetched = new Map<string, string>();
  private stats = { manifests: 0, blobs: 0, bytes: 0 };
  private files = new Map<string, number>();
  private children: string[] = [];

  constructor(
    private readonly upstream: RegistryUpstream,
    private readonly repository: string,
    /** images/<GUN>/_tags */
    readonly root: string,
    timeouts: { connectTimeoutMs: number; headersTimeoutMs: number; bodyIdleTimeoutMs: number },
    private readonly progress: Progress = NO_PROGRESS,
  ) {
    const ca = upstream.config.caPem;
    // blobs: redirects followed (undici drops Authorization when the origin changes)
    this.dispatcher = new Agent({
      connect: { timeout: timeouts.connectTimeoutMs, ...(ca ? { ca: [...rootCertificates, ca] } : {}) },
      headersTimeout: timeouts.headersTimeoutMs,
      bodyTimeout: timeouts.bodyIdleTimeoutMs,
    }).compose(interceptors.redirect({ maxRedirections: 5 }));
  }

  /** Export the image `tag` is signed to (`digest`, and `length` where the trust data signs one). */
  async exportTag(tag: string, digest: string, length: number | undefined): Promise<ImageExport> {
    this.stats = { manifests: 0, blobs: 0, bytes: 0 };
    this.files = new Map();
    this.children = [];
    const dir = join(this.root, tag);
    await rm(dir, { recursive: true, force: true }); // a previous export into the same directory bundle
    await mkdir(dir, { recursive: true });
    await this.manifest(dir, digest, length, 0);
    await this.write(dir, 'version', Buffer.from(DIR_TRANSPORT_VERSION));
    return { tag, digest, ...this.stats, children: this.children, files: this.files };
  }

  private async write(dir: string, name: string, bytes: Buffer): Promise<void> {
    await writeFile(join(dir, name), bytes);
    this.files.set(name, bytes.length);
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  private async manifest(dir: string, digest: string, length: number | undefined, depth: number): Promise<void> {
    if (!DIGEST.test(digest)) throw new ManifestMismatchError(`${this.repository}: ${digest} is not a sha256 digest`);
    const fetched = await this.upstream.fetchManifest(this.repository, digest, MANIFEST_TYPES, Math.min(length ?? MAX_MANIFEST, MAX_MANIFEST));
    const body = fetched.body;
    const actual = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    if (actual !== digest || (length !== undefined && body.length !== length)) {
      throw new ManifestMismatchError(`${this.upstream.name} served ${this.repository}@${digest} with other bytes (${actual}, ${body.length} bytes)`);
    }
    const mediaType = declaredMediaType(body) ?? fetched.mediaType ?? '';
    // schema 1 only: the OCI image manifest's type also ends in `manifest.v1+json`
    if (mediaType === DOCKER_MANIFEST_V1 || mediaType === DOCKER_MANIFEST_V1_SIGNED) {
      throw new ManifestMismatchError(`${this.repository}@${digest} is a schema 1 manifest: not exported (push it again as schema 2 or OCI)`);
    }
    const name = depth === 0 ? 'manifest.json' : `${digest.slice('sha256:'.length)}.manifest.json`;
    await this.write(dir, name, body);
    this.stats.manifests++;
    this.stats.bytes += body.length;
    const doc = JSON.parse(body.toString('utf8')) as { manifests?: unknown; config?: unknown; layers?: unknown };
    if (INDEX_TYPES.includes(mediaType) || Array.isArray(doc.manifests)) {
      if (depth >= MAX_DEPTH) throw new ManifestMismatchError(`${this.repository}@${digest}: indexes nested too deep`);
      for (const child of descriptors(doc.manifests)) {
        if (depth === 0) this.children.push(child.digest);
        await this.manifest(dir, child.digest, child.size, depth + 1);
      }
      return;
    }
    for (const b of [...descriptors(doc.config ? [doc.config] : []), ...descriptors(doc.layers)]) {
      // foreign (non-distributable) layers live elsewhere by design: the far side fetches them there
      if (b.urls && b.urls.length > 0) continue;
      await this.blob(dir, b);
    }
  }

  private async blob(dir: string, d: Descriptor): Promise<void> {
    if (!DIGEST.test(d.digest)) throw new ManifestMismatchError(`${this.repository}: blob ${d.digest} is not a sha256 digest`);
    const name = d.digest.slice('sha256:'.length);
    const path = join(dir, name);
    if (this.files.has(name)) return; // an image lists a blob twice
    const earlier = this.fetched.get(d.digest);
    if (earlier) {
      await copyFile(earlier, path);
      this.counted(name, d.size);
      this.progress.bytes(d.size);
      return;
    }
    const size = await this.download(d, path);
    this.fetched.set(d.digest, path);
    this.counted(name, size);
  }

  /** Stream a blob to `path`, checking its size while it streams and its digest at the end. */
  private async download(d: Descriptor, path: string): Promise<number> {
    const url = this.upstream.url(this.repository, 'blobs', d.digest);
    const res = await this.get(url, d.digest);
    const partial = `${path}.partial`;
    const hash = createHash('sha256');
    const progress = this.progress;
    let size = 0;
    const check = new Transform({
      transform(chunk: Buffer, _enc, done: TransformCallback) {
        size += chunk.length;
        if (size > d.size) return done(new ManifestMismatchError(`blob ${d.digest} is larger than its descriptor's ${d.size} bytes`));
        hash.update(chunk);
        progress.bytes(chunk.length);
        done(null, chunk);
      },
    });
    try {
      await pipeline(res.body, check, createWriteStream(partial));
    } catch (err) {
      await rm(partial, { force: true });
      if (err instanceof ManifestMismatchError) throw err;
      throw toTransportError(url, err);
    }
    const actual = `sha256:${hash.digest('hex')}`;
    if (actual !== d.digest || size !== d.size) {
      await rm(partial, { force: true });
      throw new ManifestMismatchError(`${this.upstream.name} served blob ${this.repository}@${d.digest} with other bytes (${actual}, ${size} bytes)`);
    }
    await rename(partial, path);
    return size;
  }

  private async get(url: string, digest: string): Promise<Dispatcher.ResponseData> {
    const authorization = await this.upstream.blobAuthorization(this.repository, digest);
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, { method: 'GET', headers: authorization ? { authorization } : {}, dispatcher: this.dispatcher });
    } catch (err) {
      throw toTransportError(url, err);
    }
    if (res.statusCode !== 200) {
      discard(res.body);
      if (res.statusCode === 404) throw new UpstreamNotFoundError('BLOB_UNKNOWN', `${this.upstream.name} has no blob ${this.repository}@${digest}`);
      throw new ManifestMismatchError(`${this.upstream.name} answered HTTP ${res.statusCode} for blob ${this.repository}@${digest}`);
    }
    return res;
  }

  private counted(name: string, size: number): void {
    this.files.set(name, size);
    this.stats.blobs++;
    this.stats.bytes += size;
    this.progress.item();
  }
}

// Sigstore signature artifacts in a trust bundle. Each artifact that hangs off a signed digest travels as
// its own containers `dir:` directory, images/<GUN>/_sigs/<tag>/, named by the tag it goes under in the
// far registry — so one `skopeo copy --all --preserve-digests dir:… docker://<repository>:<tag>` per
// directory carries it, as for an image:
//   sha256-<hex>.sig  cosign's tag convention: the signature manifest, its config and payload layers;
//   sha256-<hex>      the OCI referrers tag schema: an index listing the digest's Sigstore bundle
//                     referrers (found through the referrers API or this same tag), each referrer
//                     manifest as <hex>.manifest.json with its blobs. Copying it pushes the referrers
//                     too: a registry with the referrers API lists them (their `subject` is the image's
//                     preserved digest), one without finds them through the tag.
// Export collects what discovery reads (its limits); an artifact that cannot travel whole (a blob
// missing or not matching its digest) is left out. Export and import both judge the signatures by
// reading these very directories (dirLayoutFetcher): what is verified is what travels.

import { createHash } from 'node:crypto';
import { SigstoreError, UpstreamNotFoundError } from '../errors.js';
import { OCI_INDEX } from '../registry/media-types.js';
import { digestTag, isBundleType, LIMITS, type ArtifactFetcher } from '../sigstore/discovery.js';
import { BUNDLE_MEDIA_TYPE_V03 } from '../sigstore/formats.js';
import { DIR_TRANSPORT_VERSION } from './images.js';

/** One artifact directory of the bundle. */
export interface BundleArtifact {
  /** The tag it goes under in the far registry: `sha256-<hex>.sig` or `sha256-<hex>`. */
  readonly tag: string;
  /** The digest it hangs off (the tag's `<hex>`). */
  readonly subject: string;
}

const ARTIFACT_TAG = /^sha256-([0-9a-f]{64})(\.sig)?$/;
/** Where the keys and trusted roots a rule verified with travel (named by key ID, by SHA-256). */
export const KEY_PATH = /^sigstore\/keys\/([0-9a-f]{64})\.pub$/;
export const ROOT_PATH = /^sigstore\/trusted-roots\/([0-9a-f]{64})\.json$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

export function artifactPath(gun: string, tag: string): string {
  return `images/${gun}/_sigs/${tag}`;
}

/** A tag of the two conventions, naming `subject`. */
export function isArtifactOf(a: BundleArtifact): boolean {
  const m = ARTIFACT_TAG.exec(a.tag);
  return m !== null && a.subject === `sha256:${m[1] as string}`;
}

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const hex = (digest: string) => digest.slice('sha256:'.length);

interface Blob {
  readonly digest: string;
  readonly size: number;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function parse(bytes: Buffer): Obj | undefined {
  try {
    const doc: unknown = JSON.parse(bytes.toString('utf8'));
    return isObj(doc) ? doc : undefined;
  } catch {
    return undefined; // not an artifact the bundle can carry
  }
}

const isBlob = (d: unknown): d is Blob => isObj(d) && typeof d.digest === 'string' && DIGEST.test(d.digest) && Number.isSafeInteger(d.size) && (d.size as number) >= 0;

/** A descriptor of a Sigstore bundle referrer, as the referrers index lists it. */
function isBundleReferrer(d: unknown): d is Obj & Blob {
  if (!isObj(d) || !isBlob(d)) return false;
  return isBundleType(typeof d.artifactType === 'string' ? d.artifactType : undefined);
}

/** A manifest's config and layers; undefined when it is not one whose blobs can all be named. */
function blobsOf(manifest: Buffer): Blob[] | undefined {
  const doc = parse(manifest);
  const layers = doc?.layers;
  if (!doc || !isBlob(doc.config) || !Array.isArray(layers) || !layers.every(isBlob)) return undefined;
  return [doc.config, ...layers];
}

/** Reads the signature artifacts of digests from a registry into bundle files (path → bytes). */
export class ArtifactCollector {
  readonly files = new Map<string, Buffer>();

  constructor(
    private readonly fetcher: ArtifactFetcher,
    private readonly repository: string,
    private readonly gun: string,
  ) {}

  /** The artifacts of `digest` that travel whole. */
  async collect(digest: string): Promise<BundleArtifact[]> {
    const found = [await this.cosignTag(digest), await this.referrers(digest)];
    return found.filter((a): a is BundleArtifact => a !== undefined);
  }

  private async cosignTag(digest: string): Promise<BundleArtifact | undefined> {
    const tag = `${digestTag(digest)}.sig`;
    const manifest = await this.manifest(tag);
    const blobs = manifest && blobsOf(manifest);
    // each re-signing appends a layer; discovery reads at most LIMITS.signatureLayers of them
    if (!manifest || !blobs || blobs.length > LIMITS.signatureLayers + 1) return undefined;
    const read = await this.blobs(blobs);
    if (!read) return undefined;
    this.write(tag, manifest, new Map(), read);
    return { tag, subject: digest };
  }

  private async referrers(digest: string): Promise<BundleArtifact | undefined> {
    const tag = digestTag(digest);
    const index = (await this.fetcher.referrers(this.repository, digest, BUNDLE_MEDIA_TYPE_V03, LIMITS.manifestBytes)) ?? (await this.manifest(tag));
    const listed = index && parse(index)?.manifests;
    if (!Array.isArray(listed)) return undefined;
    const bundles = listed.filter(isBundleReferrer);
    const kept: Obj[] = [];
    const children = new Map<string, Buffer>();
    const blobs = new Map<string, Buffer>();
    for (const d of bundles.slice(0, LIMITS.referrers)) {
      const manifest = await this.manifest(d.digest);
      const named = manifest && sha256(manifest) === d.digest ? blobsOf(manifest) : undefined;
      const read = named && named.length <= LIMITS.signatureLayers + 1 ? await this.blobs(named) : undefined;
      if (!manifest || !read) continue;
      kept.push(d);
      children.set(d.digest, manifest);
      for (const [k, v] of read) blobs.set(k, v);
    }
    if (kept.length === 0) return undefined;
    // the referrers as the tag schema lists them: an index of exactly the referrers that travel
    this.write(tag, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: kept })), children, blobs);
    return { tag, subject: digest };
  }

  /** A manifest; undefined when missing or too large (a malformed signature, not a fault). */
  private async manifest(reference: string): Promise<Buffer | undefined> {
    try {
      return await this.fetcher.manifest(this.repository, reference, LIMITS.manifestBytes);
    } catch (err) {
      if (!(err instanceof SigstoreError)) throw err;
      return undefined;
    }
  }

  /** Every blob, each checked against its digest and size; undefined when any is missing or wrong. */
  private async blobs(list: readonly Blob[]): Promise<Map<string, Buffer> | undefined> {
    const out = new Map<string, Buffer>();
    for (const d of list) {
      if (d.size > LIMITS.bundleBytes) return undefined;
      let b: Buffer;
      try {
        b = await this.fetcher.blob(this.repository, d.digest, d.size);
      } catch (err) {
        if (!(err instanceof UpstreamNotFoundError) && !(err instanceof SigstoreError)) throw err;
        return undefined;
      }
      if (b.length !== d.size || sha256(b) !== d.digest) return undefined;
      out.set(d.digest, b);
    }
    return out;
  }

  private write(tag: string, manifest: Buffer, children: ReadonlyMap<string, Buffer>, blobs: ReadonlyMap<string, Buffer>): void {
    const path = artifactPath(this.gun, tag);
    this.files.set(`${path}/version`, Buffer.from(DIR_TRANSPORT_VERSION));
    this.files.set(`${path}/manifest.json`, manifest);
    for (const [d, b] of children) this.files.set(`${path}/${hex(d)}.manifest.json`, b);
    for (const [d, b] of blobs) this.files.set(`${path}/${hex(d)}`, b);
  }
}

/**
 * The registry reads of signature discovery answered from artifact directories (`read`: a bundle
 * file, or undefined): tags by their directory, referrer manifests and blobs by digest in any of them.
 * No referrers API: discovery finds bundles through the tag schema, as the far registry will serve them.
 */
export function dirLayoutFetcher(read: (path: string) => Promise<Buffer | undefined>, gun: string, artifacts: readonly BundleArtifact[]): ArtifactFetcher {
  const paths = artifacts.map((a) => artifactPath(gun, a.tag));
  const first = async (name: string): Promise<Buffer | undefined> => {
    for (const p of paths) {
      const b = await read(`${p}/${name}`);
      if (b !== undefined) return b;
    }
    return undefined;
  };
  const bounded = (b: Buffer | undefined, max: number, what: string) => {
    if (b !== undefined && b.length > max) throw new SigstoreError('SIGSTORE_SIGNATURE_MALFORMED', `${what} is larger than ${max} bytes`);
    return b;
  };
  return {
    async manifest(_repository, reference, maxBytes) {
      const byTag = artifacts.find((a) => a.tag === reference);
      if (byTag) return bounded(await read(`${artifactPath(gun, byTag.tag)}/manifest.json`), maxBytes, `signature manifest ${reference}`);
      return DIGEST.test(reference) ? bounded(await first(`${hex(reference)}.manifest.json`), maxBytes, `referrer ${reference}`) : undefined;
    },
    async blob(_repository, digest, maxBytes) {
      const b = DIGEST.test(digest) ? bounded(await first(hex(digest)), maxBytes, `signature blob ${digest}`) : undefined;
      if (b === undefined) throw new UpstreamNotFoundError('BLOB_UNKNOWN', `the bundle has no signature blob ${digest} for ${gun}`);
      return b;
    },
    referrers: async () => undefined,
  };
}

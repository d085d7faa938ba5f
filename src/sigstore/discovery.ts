// Finding the signatures of one manifest digest in its repository, bounded in count, size and time:
//   cosign's tag convention   GET manifests/sha256-<hex>.sig → its simple-signing layers → payload blobs
//   Sigstore bundles          GET referrers/<digest> (OCI referrers API), or where the registry has none
//                             (distribution 2.8), the tag schema `sha256-<hex>` index → bundle manifests
//                             → bundle blobs (cosign specs/BUNDLE_SPEC.md "Retrieval")
// Every manifest and blob read here is checked against the digest that named it. A missing signature
// artifact is no signature; malformed ones are reported with the candidates; transport failures throw.

import { createHash } from 'node:crypto';
import { SigstoreError, UpstreamNotFoundError } from '../errors.js';
import { BUNDLE_MEDIA_TYPE_V03, fromBundle, fromCosignLayer, SIMPLE_SIGNING_MEDIA_TYPE, type Candidate } from './formats.js';

/** The registry reads discovery needs (RegistryUpstream answers them; tests use a simulator). */
export interface ArtifactFetcher {
  /** A manifest by tag or digest; undefined when the registry has none. */
  manifest(repository: string, reference: string, maxBytes: number): Promise<Buffer | undefined>;
  blob(repository: string, digest: string, maxBytes: number): Promise<Buffer>;
  /** The referrers index; undefined when the registry has no referrers API. */
  referrers(repository: string, digest: string, artifactType: string, maxBytes: number): Promise<Buffer | undefined>;
}

export const LIMITS = {
  /** Layers read from one `.sig` manifest (each re-signing appends one). */
  signatureLayers: 32,
  /** Bundle referrers read per digest. */
  referrers: 16,
  manifestBytes: 1 << 20,
  payloadBytes: 64 << 10,
  bundleBytes: 256 << 10,
} as const;

export interface Discovered {
  readonly candidates: Candidate[];
  /** Signature artifacts that could not be read as signatures. */
  readonly malformed: SigstoreError[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const DIGEST = /^sha256:[0-9a-f]{64}$/;

function sha256(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

/** `sha256:<hex>` → `sha256-<hex>`: the tag both conventions hang signatures on. */
export function digestTag(digest: string): string {
  return digest.replace(':', '-');
}

interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly artifactType?: string | undefined;
  readonly annotations: Readonly<Record<string, string>>;
}

function descriptors(list: unknown, limit: number): Descriptor[] {
  if (!Array.isArray(list)) return [];
  const out: Descriptor[] = [];
  for (const d of list.slice(0, limit)) {
    if (!isObj(d) || typeof d.mediaType !== 'string' || typeof d.digest !== 'string' || !DIGEST.test(d.digest) || !Number.isSafeInteger(d.size)) continue;
    const annotations = isObj(d.annotations) ? Object.fromEntries(Object.entries(d.annotations).filter((e): e is [string, string] => typeof e[1] === 'string')) : {};
    out.push({ mediaType: d.mediaType, digest: d.digest, size: d.size as number, artifactType: typeof d.artifactType === 'string' ? d.artifactType : undefined, annotations });
  }
  return out;
}

function parseJson(bytes: Buffer, origin: string): Obj {
  try {
    const doc: unknown = JSON.parse(bytes.toString('utf8'));
    if (isObj(doc)) return doc;
  } catch {
    // reported below
  }
  throw new SigstoreError('SIGSTORE_SIGNATURE_MALFORMED', `${origin} is not a JSON manifest`);
}

export class SignatureDiscovery {
  constructor(private readonly fetcher: ArtifactFetcher) {}

  /** Signatures in cosign's `sha256-<hex>.sig` tag. */
  async cosignTag(repository: string, digest: string): Promise<Discovered> {
    const found: Discovered = { candidates: [], malformed: [] };
    const tag = `${digestTag(digest)}.sig`;
    const manifest = await this.fetcher.manifest(repository, tag, LIMITS.manifestBytes);
    if (manifest === undefined) return found;
    let doc: Obj;
    try {
      doc = parseJson(manifest, tag);
    } catch (err) {
      if (!(err instanceof SigstoreError)) throw err;
      return { candidates: [], malformed: [err] };
    }
    const layers = descriptors(doc.layers, LIMITS.signatureLayers).filter((l) => l.mediaType === SIMPLE_SIGNING_MEDIA_TYPE);
    for (const [i, layer] of layers.entries()) {
      const origin = `${tag} layer ${i + 1}`;
      await this.collect(found, async () => fromCosignLayer(layer.annotations, await this.verifiedBlob(repository, layer, LIMITS.payloadBytes, origin), origin));
    }
    return found;
  }

  /** Sigstore bundles attached as OCI referrers (API, or the tag-schema fallback). */
  async bundles(repository: string, digest: string): Promise<Discovered> {
    const found: Discovered = { candidates: [], malformed: [] };
    let index = await this.fetcher.referrers(repository, digest, BUNDLE_MEDIA_TYPE_V03, LIMITS.manifestBytes);
    let origin = `referrers of ${digest}`;
    if (index === undefined) {
      origin = `${digestTag(digest)} (referrers tag schema)`;
      index = await this.fetcher.manifest(repository, digestTag(digest), LIMITS.manifestBytes);
    }
    if (index === undefined) return found;
    let doc: Obj;
    try {
      doc = parseJson(index, origin);
    } catch (err) {
      if (!(err instanceof SigstoreError)) throw err;
      return { candidates: [], malformed: [err] };
    }
    const referrers = descriptors(doc.manifests, 256)
      .filter((m) => isBundleType(m.artifactType))
      .slice(0, LIMITS.referrers);
    for (const ref of referrers) {
      const where = `bundle referrer ${ref.digest}`;
      await this.collect(found, async () => fromBundle(await this.bundleBlob(repository, ref.digest, where), where));
    }
    return found;
  }

  private async bundleBlob(repository: string, manifestDigest: string, origin: string): Promise<Buffer> {
    const bytes = await this.fetcher.manifest(repository, manifestDigest, LIMITS.manifestBytes);
    if (bytes === undefined) throw new SigstoreError('SIGSTORE_SIGNATURE_MALFORMED', `${origin}: listed, but the registry does not have it`);
    if (sha256(bytes) !== manifestDigest) throw new SigstoreError('SIGSTORE_SIGNATURE_MALFORMED', `${origin}: the registry served other bytes`);
    const layer = descriptors(parseJson(bytes, origin).layers, 1)[0];
    if (layer === undefined || !isBundleType(layer.mediaType)) throw new SigstoreError('SIGSTORE_SIGNATURE_MALFORMED', `${origin}: no bundle layer`);
    return this.verifiedBlob(repository, layer, LIMITS.bundleBytes, origin);
  }

  private async verifiedBlob(repository: string, d: Descriptor, max: number, origin: string): Promise<Buffer> {
    if (d.size > max) throw new SigstoreError('SIGSTORE_SIGNATURE_MALFORMED', `${origin}: ${d.size} bytes, more than ${max}`);
    let bytes: Buffer;
    try {
      bytes = await this.fetcher.blob(repository, d.digest, Math.min(max, d.size));
    } catch (err) {
      if (!(err instanceof UpstreamNotFoundError)) throw err;
      throw new SigstoreError('SIGSTORE_SIGNATURE_MALFORMED', `${origin}: the registry does not have blob ${d.digest}`, { cause: err });
    }
    if (sha256(bytes) !== d.digest) throw new SigstoreError('SIGSTORE_SIGNATURE_MALFORMED', `${origin}: blob ${d.digest} does not hash to its digest`);
    return bytes;
  }

  private async collect(found: Discovered, read: () => Promise<Candidate>): Promise<void> {
    try {
      found.candidates.push(await read());
    } catch (err) {
      if (!(err instanceof SigstoreError)) throw err;
      found.malformed.push(err);
    }
  }
}

function isBundleType(t: string | undefined): boolean {
  // the v0.3 media type, and the parameterised legacy spelling of it
  return t === BUNDLE_MEDIA_TYPE_V03 || t === 'application/vnd.dev.sigstore.bundle+json;version=0.3';
}

// Serving a manifest: only bytes that hash to a signed digest leave trustgate.
//
//   by tag     the trust source's verified digest → the manifest by that digest (cache or upstream,
//              fetched by digest with the full Accept list) → length and sha256 of the exact bytes
//   by digest  allowed only if the digest is signed, or a child of a verified signed index;
//              bytes re-hashed in every case
// A verified index admits its children's digests for as long as its trust data is valid.

import { createHash } from 'node:crypto';
import { BoundedMap } from '../cache/bounded-map.js';
import type { CachedManifest, ResultCache } from '../cache/results.js';
import { SingleFlight } from '../cache/single-flight.js';
import { ManifestMismatchError, PolicyDeniedError } from '../errors.js';
import { acceptList, childDigests, declaredMediaType, INDEX_TYPES } from '../registry/media-types.js';
import { DIGEST } from '../registry/reference.js';
import type { PullTarget } from './target.js';
import type { TrustSource } from './trust-source.js';

export interface ServedManifest {
  readonly digest: string;
  readonly mediaType: string;
  readonly body: Buffer;
  /** For the audit line: the signing role, 'signed-digest', 'child' or 'unverified'. */
  readonly role?: string;
  readonly signers?: readonly string[];
  /** Served under an offline grace. */
  readonly stale?: boolean;
  /** hot: verified by this process within the refresh interval; hit: from the shared cache. */
  readonly cache: 'hot' | 'hit' | 'miss';
}

interface HotEntry {
  readonly served: ServedManifest;
  /** Epoch ms: the end of the refresh interval, or the trust data's expiry if sooner. */
  readonly until: number;
}

export interface ManifestServiceOptions {
  /** The trust source that decides for a target (by its policy decision). */
  readonly trustFor: (target: PullTarget) => TrustSource;
  readonly results: ResultCache;
  readonly maxBytes: number;
  readonly refreshIntervalMs: number;
  readonly clock?: () => number;
  readonly maxHot?: number;
}

type Fetched = { manifest: CachedManifest; cached: boolean };

export class ManifestService {
  /**
   * Answers verified by this process, reused without any I/O until the refresh interval ends (then
   * the shared cache and the trust source are consulted again): the warm path of a pull.
   */
  private readonly hot: BoundedMap<string, HotEntry>;
  readonly fetches = new SingleFlight<Fetched>();
  private readonly clock: () => number;

  constructor(private readonly opts: ManifestServiceOptions) {
    this.clock = opts.clock ?? Date.now;
    this.hot = new BoundedMap(opts.maxHot ?? 10_000);
  }

  /** Forget the warm answers (after a reload). */
  invalidate(): void {
    this.hot.clear();
  }

  /** The manifest `reference` (a tag or a digest) may serve under the target's policy decision. */
  async get(p: PullTarget, reference: string): Promise<ServedManifest> {
    const byDigest = DIGEST.test(reference);
    if (p.decision.action === 'allow') return this.unverified(p, reference);
    return this.hotAnswer(p, reference) ?? (byDigest ? this.byDigest(p, reference) : this.byTag(p, reference));
  }

  private hotAnswer(p: PullTarget, reference: string): ServedManifest | undefined {
    const key = hotKey(p, reference);
    const e = this.hot.peek(key);
    if (e === undefined) return undefined;
    if (e.until > this.clock()) return e.served;
    this.hot.delete(key);
    return undefined;
  }

  private async byTag(p: PullTarget, tag: string): Promise<ServedManifest> {
    const { verdict, cache } = await this.opts.trustFor(p).resolveTag(p, tag);
    const m = await this.verifiedManifest(p, verdict.digest, verdict.length);
    await this.admitChildren(p, m.manifest, verdict.expires);
    const served = { digest: verdict.digest, ...m.manifest, role: verdict.signedBy, signers: verdict.signers, ...(verdict.stale ? { stale: true } : {}) };
    this.remember(hotKey(p, tag), served, Math.min(verdict.verifiedAt + this.opts.refreshIntervalMs, verdict.expires));
    return { ...served, cache: cache === 'hit' && m.cached ? 'hit' : 'miss' };
  }

  private async byDigest(p: PullTarget, digest: string): Promise<ServedManifest> {
    const verdict = await this.opts.trustFor(p).admitDigest(p, digest);
    if (!verdict.signed && !(await this.opts.results.isChild(p.gun, digest))) {
      throw new PolicyDeniedError('DIGEST_NOT_SIGNED', `${p.gun}@${digest} is neither a signed target nor a child of a signed manifest list`);
    }
    const m = await this.verifiedManifest(p, digest, undefined);
    if (verdict.signed) await this.admitChildren(p, m.manifest, verdict.expires);
    const served = { digest, ...m.manifest, role: verdict.signed ? 'signed-digest' : 'child' };
    this.remember(hotKey(p, digest), served, Math.min(this.clock() + this.opts.refreshIntervalMs, verdict.expires));
    return { ...served, cache: m.cached ? 'hit' : 'miss' };
  }

  private remember(key: string, served: Omit<ServedManifest, 'cache'>, until: number): void {
    if (until <= this.clock()) return;
    this.hot.set(key, { served: { ...served, cache: 'hot' }, until });
  }

  /** The manifest whose bytes hash to `digest` (and have `length`, when signed with one); one fetch at a time per digest. */
  private verifiedManifest(p: PullTarget, digest: string, length: number | undefined): Promise<Fetched> {
    return this.fetches.run(`${p.upstream.name}|${p.repository}|${digest}|${length ?? ''}`, () => this.fetchVerified(p, digest, length));
  }

  private async fetchVerified(p: PullTarget, digest: string, length: number | undefined): Promise<Fetched> {
    const cached = await this.opts.results.getManifest(digest);
    if (cached && sha256(cached.body) === digest) return { manifest: cached, cached: true };
    const max = this.opts.maxBytes;
    const fetched = await p.upstream.fetchManifest(p.repository, digest, acceptList(p.accept), length !== undefined ? Math.min(length, max) : max);
    const actual = sha256(fetched.body);
    if (actual !== digest) {
      throw new ManifestMismatchError(`${p.upstream.name} served ${p.repository}@${digest} with bytes hashing to ${actual}: refused`);
    }
    // an upstream that misstates the digest of what it serves is not trusted with anything
    if (fetched.claimedDigest !== undefined && fetched.claimedDigest !== digest) {
      throw new ManifestMismatchError(`${p.upstream.name} claims ${fetched.claimedDigest} for ${p.repository}@${digest}: refused`);
    }
    if (length !== undefined && fetched.body.length !== length) {
      throw new ManifestMismatchError(`${p.repository}@${digest} is ${fetched.body.length} bytes, the signature says ${length}`);
    }
    const manifest = { mediaType: mediaTypeOf(fetched.body, fetched.mediaType), body: fetched.body };
    await this.opts.results.putManifest(digest, manifest);
    return { manifest, cached: false };
  }

  private async admitChildren(p: PullTarget, m: CachedManifest, until: number): Promise<void> {
    if (!INDEX_TYPES.includes(m.mediaType)) return;
    const ttl = until - this.clock();
    if (ttl > 0) await this.opts.results.addChildren(p.gun, childDigests(m.body), ttl);
  }

  /** `allow` repositories: passed through unverified, but still bounded and still hashed for the digest header. */
  private async unverified(p: PullTarget, reference: string): Promise<ServedManifest> {
    const fetched = await p.upstream.fetchManifest(p.repository, reference, acceptList(p.accept), this.opts.maxBytes);
    const digest = sha256(fetched.body);
    if (reference.startsWith('sha256:') && digest !== reference) {
      throw new ManifestMismatchError(`${p.upstream.name} served ${p.repository}@${reference} with bytes hashing to ${digest}: refused`);
    }
    return { digest, mediaType: mediaTypeOf(fetched.body, fetched.mediaType), body: fetched.body, role: 'unverified', cache: 'miss' };
  }
}

function hotKey(p: PullTarget, reference: string): string {
  return `${p.gun}|${p.decision.roles.join(',')}|${reference}`;
}

function sha256(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

/** The bytes' own mediaType wins over the upstream's Content-Type (the bytes are what was signed). */
function mediaTypeOf(body: Buffer, header: string | undefined): string {
  return declaredMediaType(body) ?? header ?? 'application/vnd.oci.image.manifest.v1+json';
}

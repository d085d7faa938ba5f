// Serving a manifest: only bytes that hash to a signed digest leave trustgate.
//
//   by tag     the trust source's verified digest → the manifest by that digest (cache or upstream,
//              fetched by digest with the full Accept list) → length and sha256 of the exact bytes
//   by digest  allowed only if the digest is signed now, or listed by an index that is signed now
//              (found through a parent hint, then checked: the parent's verdict and its hashed bytes);
//              bytes re-hashed in every case
// Answers are reused in process until the trust data behind them is `trust.refreshInterval` old, so a
// revocation — of a tag, of a digest, of an index and with it its children — takes effect within it.

import { createHash } from 'node:crypto';
import { BoundedMap } from '../cache/bounded-map.js';
import type { CachedManifest, ResultCache } from '../cache/results.js';
import { SingleFlight } from '../cache/single-flight.js';
import { ManifestMismatchError, PolicyDeniedError } from '../errors.js';
import { acceptList, childDigests, declaredMediaType, INDEX_TYPES } from '../registry/media-types.js';
import { DIGEST } from '../registry/reference.js';
import { isSignatureArtifactTag, type SignatureArtifacts } from './signature-artifacts.js';
import type { PullTarget } from './target.js';
import type { TagVerdict, TrustSource, TrustSystem } from './trust-source.js';

export interface ServedManifest {
  readonly digest: string;
  readonly mediaType: string;
  readonly body: Buffer;
  /** For the audit line: the signing role, 'signed-digest', 'child' or 'unverified'. */
  readonly role?: string;
  /** The trust system whose verdict served it (audit line and metrics). */
  readonly system?: TrustSystem;
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
  /** Epoch ms: from then on, a pull also asks the trust source (in the background) to refresh early. */
  readonly pingAt: number;
  pinged?: boolean;
}

/** Why a digest may be served, and until when. */
interface Admission {
  readonly role: 'signed-digest' | 'child';
  readonly expires: number;
  readonly verifiedAt: number;
  readonly stale?: boolean | undefined;
}

export interface ManifestServiceOptions {
  /** The trust source that decides for a target (by its policy decision). */
  readonly trustFor: (target: PullTarget) => TrustSource;
  readonly results: ResultCache;
  readonly maxBytes: number;
  readonly refreshIntervalMs: number;
  readonly clock?: () => number;
  readonly maxHot?: number;
  /** Signature artifacts of verified subjects, for clients that verify themselves. */
  readonly artifacts?: SignatureArtifacts | undefined;
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
  /** Raised by every invalidation: an answer worked out under an older one is served once, not kept. */
  private generation = 0;

  constructor(private readonly opts: ManifestServiceOptions) {
    this.clock = opts.clock ?? Date.now;
    this.hot = new BoundedMap(opts.maxHot ?? 10_000);
  }

  /** Forget the warm answers (SIGHUP, an import): of `guns`, or of every repository. */
  invalidate(guns?: readonly string[]): void {
    this.generation++;
    if (!guns) return this.hot.clear();
    const prefixes = guns.map((gun) => `${gun}|`);
    for (const key of [...this.hot.keys()]) if (prefixes.some((p) => key.startsWith(p))) this.hot.delete(key);
  }

  /** The manifest `reference` (a tag or a digest) may serve under the target's policy decision. */
  async get(p: PullTarget, reference: string): Promise<ServedManifest> {
    const byDigest = DIGEST.test(reference);
    if (p.decision.action === 'allow') return this.unverified(p, reference);
    if (this.isArtifactTag(p, reference)) return (this.opts.artifacts as SignatureArtifacts).byTag(p, reference);
    return this.hotAnswer(p, reference) ?? (byDigest ? this.byDigest(p, reference) : this.byTag(p, reference));
  }

  /** What `get` answers without any I/O, when this process holds a warm answer for the reference; else undefined. */
  warm(p: PullTarget, reference: string): ServedManifest | undefined {
    if (p.decision.action === 'allow' || this.isArtifactTag(p, reference)) return undefined;
    return this.hotAnswer(p, reference);
  }

  private isArtifactTag(p: PullTarget, reference: string): boolean {
    return this.opts.artifacts !== undefined && !DIGEST.test(reference) && isSignatureArtifactTag(p, reference);
  }

  private hotAnswer(p: PullTarget, reference: string): ServedManifest | undefined {
    const key = hotKey(p, reference);
    const e = this.hot.peek(key);
    if (e === undefined) return undefined;
    const now = this.clock();
    if (e.until <= now) {
      this.hot.delete(key);
      return undefined;
    }
    if (now >= e.pingAt && !e.pinged) {
      // keep warm pulls off the refresh path: the trust source refreshes ahead of the interval's end
      e.pinged = true;
      const trust = this.opts.trustFor(p);
      if (DIGEST.test(reference)) void trust.admitDigest(p, reference).catch(() => this.hot.delete(key));
      else {
        const generation = this.generation;
        void trust
          .resolveTag(p, reference)
          .then(({ verdict }) => this.reconfirmed(p, key, e, verdict, generation))
          .catch(() => this.hot.delete(key));
      }
    }
    return e.served;
  }

  /**
   * A refresh ahead re-resolved a warm tag: the same signed answer, verified again, keeps it warm
   * from its new verification time (a system that resolves tags at the registry, Sigstore, would
   * otherwise send every pull to the registry once the interval ends); any other answer drops it.
   */
  private async reconfirmed(p: PullTarget, key: string, e: HotEntry, v: TagVerdict, generation: number): Promise<void> {
    if (this.hot.peek(key) !== e) return;
    const s = e.served;
    if (v.digest !== s.digest || v.signedBy !== s.role || v.system !== s.system || Boolean(v.stale) !== Boolean(s.stale)) {
      this.hot.delete(key);
      return;
    }
    await this.noteChildren(p, v.digest, { body: s.body, mediaType: s.mediaType }, v.expires);
    const { cache: _cache, ...served } = s;
    this.remember(key, { ...served, signers: v.signers }, v, generation);
  }

  private async byTag(p: PullTarget, tag: string): Promise<ServedManifest> {
    const generation = this.generation;
    const { verdict, cache } = await this.opts.trustFor(p).resolveTag(p, tag);
    const m = await this.verifiedManifest(p, verdict.digest, verdict.length);
    await this.noteChildren(p, verdict.digest, m.manifest, verdict.expires);
    const served = { digest: verdict.digest, ...m.manifest, role: verdict.signedBy, system: verdict.system, signers: verdict.signers, ...(verdict.stale ? { stale: true } : {}) };
    this.remember(hotKey(p, tag), served, verdict, generation);
    return { ...served, cache: cache === 'hit' && m.cached ? 'hit' : 'miss' };
  }

  private async byDigest(p: PullTarget, digest: string): Promise<ServedManifest> {
    const generation = this.generation;
    const trust = this.opts.trustFor(p);
    const verdict = await trust.admitDigest(p, digest);
    const admission: Admission | undefined = verdict.signed ? { ...verdict, role: 'signed-digest' } : await this.admittedAsChild(p, trust, digest);
    if (!admission) {
      // a signature artifact (a bundle referrer) fetched by digest, for a subject servable here
      const artifact = await this.opts.artifacts?.byDigest(p, digest);
      if (artifact) return artifact;
      throw new PolicyDeniedError('DIGEST_NOT_SIGNED', `${p.gun}@${digest} is neither a signed target nor a child of a signed manifest list`);
    }
    const m = await this.verifiedManifest(p, digest, undefined);
    if (verdict.signed) await this.noteChildren(p, digest, m.manifest, verdict.expires);
    const served = { digest, ...m.manifest, role: admission.role, system: verdict.system, ...(admission.stale ? { stale: true } : {}) };
    this.remember(hotKey(p, digest), served, admission, generation);
    return { ...served, cache: m.cached ? 'hit' : 'miss' };
  }

  /**
   * A child digest is admitted through a parent index that its trust source signs now and whose
   * verified bytes list it. The parent comes from a hint (any replica may have served the index); the
   * hint itself is never trusted.
   */
  /** Whether `digest` may be served for the target: signed itself, or a child of a signed index. */
  async servable(p: PullTarget, digest: string): Promise<boolean> {
    const trust = this.opts.trustFor(p);
    return (await trust.admitDigest(p, digest)).signed || (await this.admittedAsChild(p, trust, digest)) !== undefined;
  }

  private async admittedAsChild(p: PullTarget, trust: TrustSource, child: string): Promise<Admission | undefined> {
    for (const parent of await this.opts.results.parentHints(p.gun, child)) {
      if (!DIGEST.test(parent) || parent === child) continue;
      const verdict = await trust.admitDigest(p, parent);
      if (!verdict.signed) continue;
      const { manifest } = await this.verifiedManifest(p, parent, undefined);
      if (INDEX_TYPES.includes(manifest.mediaType) && childDigests(manifest.body).includes(child)) return { ...verdict, role: 'child' };
    }
    return undefined;
  }

  private remember(key: string, served: Omit<ServedManifest, 'cache'>, v: { verifiedAt: number; expires: number }, generation: number): void {
    const until = Math.min(v.verifiedAt + this.opts.refreshIntervalMs, v.expires);
    if (until <= this.clock() || generation !== this.generation) return;
    this.hot.set(key, { served: { ...served, cache: 'hot' }, until, pingAt: v.verifiedAt + this.opts.refreshIntervalMs / 2 });
  }

  /** The manifest whose bytes hash to `digest` (and have `length`, when signed with one); one fetch at a time per digest. */
  private verifiedManifest(p: PullTarget, digest: string, length: number | undefined): Promise<Fetched> {
    return this.fetches.run(`${p.upstream.name}|${p.repository}|${digest}|${length ?? ''}`, () => this.fetchVerified(p, digest, length));
  }

  private async fetchVerified(p: PullTarget, digest: string, length: number | undefined): Promise<Fetched> {
    const cached = await this.opts.results.getManifest(digest);
    if (cached && sha256(cached.body) === digest) {
      // the signed length holds for a cached copy as for a fetched one: the answer must not depend on the cache
      checkSignedLength(p, digest, cached.body, length);
      return { manifest: cached, cached: true };
    }
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
    checkSignedLength(p, digest, fetched.body, length);
    const manifest = { mediaType: mediaTypeOf(fetched.body, fetched.mediaType), body: fetched.body };
    await this.opts.results.putManifest(digest, manifest);
    return { manifest, cached: false };
  }

  /** Note a verified signed index as the parent of its children, for digest pulls on any replica. */
  private async noteChildren(p: PullTarget, parent: string, m: CachedManifest, until: number): Promise<void> {
    if (!INDEX_TYPES.includes(m.mediaType)) return;
    const ttl = until - this.clock();
    if (ttl > 0) await this.opts.results.addParentHint(p.gun, parent, childDigests(m.body), ttl);
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

/** Bytes that hash to a signed digest must also have its signed length, when it was signed with one. */
function checkSignedLength(p: PullTarget, digest: string, body: Buffer, length: number | undefined): void {
  if (length !== undefined && body.length !== length) {
    throw new ManifestMismatchError(`${p.repository}@${digest} is ${body.length} bytes, the signature says ${length}`);
  }
}

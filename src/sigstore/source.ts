// Sigstore's answer to the pull use cases (pull/trust-source.ts): which digest a tag may serve, and
// whether a digest is signed. A tag is resolved at the registry (HEAD, every manifest type accepted),
// the digest's signatures are found and verified (cached by digest for `verdictTtlMs`: deleting a
// signature revokes within that time), and the tag's rollback memory must accept the digest.
// pull/ then fetches the manifest by that digest and checks its bytes, as for Notary.

import { createHash } from 'node:crypto';
import { SingleFlight } from '../cache/single-flight.js';
import { ConfigError, SigstoreError, TagRollbackError } from '../errors.js';
import { MANIFEST_TYPES } from '../registry/media-types.js';
import type { RegistryUpstream } from '../registry/upstream.js';
import type { PullTarget } from '../pull/target.js';
import type { DigestVerdict, ResolvedTag, TagVerdict, TrustExpiry, TrustSource } from '../pull/trust-source.js';
import type { SigstorePolicy } from '../config/sigstore.js';
import type { ArtifactFetcher } from './discovery.js';
import { upstreamFetcher } from './fetcher.js';
import type { TagHistoryStore } from './tag-history.js';
import type { VerifiedSignature } from './verify.js';

export interface SigstoreSourceOptions {
  readonly history: TagHistoryStore;
  /** How long a digest's verified signatures are reused before they are looked up again. */
  readonly verdictTtlMs: number;
  readonly manifestMaxBytes: number;
  readonly clock?: (() => number) | undefined;
  readonly fetcherFor?: ((upstream: RegistryUpstream) => ArtifactFetcher) | undefined;
  readonly maxCached?: number | undefined;
}

interface DigestResult {
  readonly signatures: readonly VerifiedSignature[];
  readonly at: number;
}

/** Candidate tags checked for a tag list (each costs a HEAD and, cold, a signature lookup). */
const SIGNED_TAGS_MAX = 256;

export class SigstoreTrustSource implements TrustSource {
  readonly system = 'sigstore' as const;
  private readonly verified = new Map<string, DigestResult>();
  private readonly flights = new SingleFlight<DigestResult>();
  private readonly clock: () => number;

  constructor(private readonly opts: SigstoreSourceOptions) {
    this.clock = opts.clock ?? Date.now;
  }

  async resolveTag(target: PullTarget, tag: string): Promise<ResolvedTag> {
    const digest = await this.tagDigest(target, tag);
    const resolvedAt = this.clock();
    const { result, cache } = await this.verify(target, digest);
    const order = newestTime(result.signatures);
    const advance = await this.opts.history.advance(target.gun, tag, { digest, order });
    if (!advance.accepted) throw new TagRollbackError(target.gun, tag, digest, advance.newest.digest);
    // the tag was resolved at the registry just now; its digest's signatures were verified at result.at
    return { verdict: { ...this.verdict(digest, result), verifiedAt: resolvedAt }, cache };
  }

  async admitDigest(target: PullTarget, digest: string): Promise<DigestVerdict> {
    try {
      const { result } = await this.verify(target, digest);
      const v = this.verdict(digest, result);
      // the digest was checked now (its signatures' verification is reused until `expires`)
      return { system: 'sigstore', signed: true, signedBy: v.signedBy, expires: v.expires, verifiedAt: this.clock() };
    } catch (err) {
      if (!(err instanceof SigstoreError)) throw err;
      // not signed by itself: pull/ may still admit it as a child of a signed index
      return { system: 'sigstore', signed: false, signedBy: undefined, expires: this.clock() + this.opts.verdictTtlMs, verifiedAt: this.clock() };
    }
  }

  async signedTags(target: PullTarget, candidates: readonly string[]): Promise<ReadonlySet<string>> {
    const out = new Set<string>();
    // signature artifacts (`sha256-<hex>.sig`, referrer indexes) are not images anyone pulls by tag
    const tags = candidates.filter((t) => !t.startsWith('sha256-')).slice(0, SIGNED_TAGS_MAX);
    for (const tag of tags) {
      try {
        await this.verify(target, await this.tagDigest(target, tag));
        out.add(tag);
      } catch (err) {
        if (!(err instanceof SigstoreError)) throw err;
      }
    }
    return out;
  }

  invalidate(): void {
    this.verified.clear();
  }

  /** Sigstore signatures carry no expiry of their own: nothing to report. */
  *expiries(): Iterable<TrustExpiry> {}

  /** Forget what `<gun>:<tag>` pointed at (an operator's deliberate re-tag), or make `digest` its newest. */
  acceptTag(gun: string, tag: string, digest?: string): Promise<void> {
    return this.opts.history.reset(gun, tag, digest);
  }

  private verdict(digest: string, r: DigestResult): TagVerdict {
    const first = r.signatures[0] as VerifiedSignature;
    return {
      system: 'sigstore',
      digest,
      signedBy: first.keyless ? 'sigstore-identity' : 'sigstore-key',
      signers: [...new Set(r.signatures.map((s) => s.signer))],
      expires: r.at + this.opts.verdictTtlMs,
      verifiedAt: r.at,
    };
  }

  private async verify(target: PullTarget, digest: string): Promise<{ result: DigestResult; cache: 'hit' | 'miss' }> {
    const key = `${target.upstream.name}|${target.repository}|${target.decision.rule ?? ''}|${digest}`;
    const hit = this.verified.get(key);
    if (hit !== undefined && this.clock() - hit.at < this.opts.verdictTtlMs) return { result: hit, cache: 'hit' };
    const result = await this.flights.run(key, async () => {
      const fresh = { signatures: await this.verifyFresh(target, digest), at: this.clock() };
      this.remember(key, fresh);
      return fresh;
    });
    return { result, cache: 'miss' };
  }

  private async verifyFresh(target: PullTarget, digest: string): Promise<VerifiedSignature[]> {
    const policy = policyOf(target);
    // the Sigstore libraries load on the first verification, not at start-up (a Notary-only site never loads them)
    const [{ SignatureDiscovery }, { verifyAny }] = await Promise.all([import('./discovery.js'), import('./verify.js')]);
    const discovery = new SignatureDiscovery((this.opts.fetcherFor ?? upstreamFetcher)(target.upstream));
    const expected = { digest, pulled: target.gun, signedIdentity: policy.signedIdentity };
    const auth = { keys: policy.keys, identities: policy.identities, trust: policy.trust, tlog: policy.tlog };
    // the tag convention first (one fetch in the common case); bundles only when it does not verify
    const tagged = await discovery.cosignTag(target.repository, digest);
    try {
      return verifyAny(tagged.candidates, tagged.malformed, auth, expected);
    } catch (err) {
      if (!(err instanceof SigstoreError)) throw err;
    }
    const bundles = await discovery.bundles(target.repository, digest);
    return verifyAny([...tagged.candidates, ...bundles.candidates], [...tagged.malformed, ...bundles.malformed], auth, expected);
  }

  /** The digest a tag points at now (untrusted until pull/ hashes the bytes served by that digest). */
  private async tagDigest(target: PullTarget, tag: string): Promise<string> {
    const head = await target.upstream.headManifest(target.repository, tag);
    if (head.digest !== undefined) return head.digest;
    const m = await target.upstream.fetchManifest(target.repository, tag, [...MANIFEST_TYPES], this.opts.manifestMaxBytes);
    return `sha256:${createHash('sha256').update(m.body).digest('hex')}`;
  }

  private remember(key: string, r: DigestResult): void {
    this.verified.delete(key);
    if (this.verified.size >= (this.opts.maxCached ?? 10_000)) this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(key, r);
  }
}

function policyOf(target: PullTarget): SigstorePolicy {
  const p = target.decision.sigstore;
  if (p === undefined) throw new ConfigError(`the policy rule for ${target.gun} has no sigstore settings`);
  return p;
}

/** The newest signing time among a digest's verified signatures: proven where possible, else claimed. */
export function newestTime(signatures: readonly VerifiedSignature[]): number | undefined {
  const times = signatures.map((s) => s.provenTime ?? s.claimedTime).filter((t): t is number => t !== undefined);
  return times.length > 0 ? Math.max(...times) : undefined;
}

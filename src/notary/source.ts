// Notary as a TrustSource: tags resolved through verified trust data, answers cached until the trust
// data behind them expires and revalidated in the background once older than the refresh interval
// (warm pulls never wait on Notary; a re-signed or revoked tag takes effect within the interval), one
// refresh per GUN at a time per process.

import type { ResultCache, TagResult } from '../cache/results.js';
import { BoundedMap } from '../cache/bounded-map.js';
import { SingleFlight } from '../cache/single-flight.js';
import { DeserializationError, NotSignedError } from '../errors.js';
import type { PullTarget } from '../pull/target.js';
import type { DigestVerdict, ResolvedTag, TrustExpiry, TrustSource } from '../pull/trust-source.js';
import { acceptedUntil, type TrustedMetadataSet } from '../trust/index.js';
import { resolveExplained, type RefreshResult, type TrustUpdater } from './updater.js';

export interface NotarySourceOptions {
  /** The updater of the upstream a GUN belongs to. */
  readonly updaterFor: (upstream: string) => TrustUpdater;
  readonly results: ResultCache;
  readonly refreshIntervalMs: number;
  readonly clock?: () => number;
  readonly onBackgroundError?: (gun: string, err: unknown) => void;
  /** Called after every refresh of a repository's trust data (metrics). */
  readonly onRefresh?: (upstream: string, gun: string, ok: boolean) => void;
  /** Repositories whose verified trust data is kept in process (least recently used out). */
  readonly maxMemo?: number;
}

interface Memo {
  readonly refresh: RefreshResult;
  readonly at: number;
  readonly expires: number;
  signed?: Map<string, Set<string>>;
}

export class NotaryTrustSource implements TrustSource {
  readonly system = 'notary' as const;
  private readonly memo: BoundedMap<string, Memo>;
  readonly refreshes = new SingleFlight<Memo>();
  private readonly tagFlights = new SingleFlight<TagResult>();
  private readonly clock: () => number;

  constructor(private readonly opts: NotarySourceOptions) {
    this.clock = opts.clock ?? Date.now;
    this.memo = new BoundedMap(opts.maxMemo ?? 10_000);
  }

  async resolveTag(target: PullTarget, tag: string): Promise<ResolvedTag> {
    const { upstream, gun, decision } = target;
    const key = `${gun}|${decision.roles.join(',')}|${tag}`;
    const now = this.clock();
    const cached = await this.opts.results.getTag(key);
    if (cached && cached.expires > now) {
      if (now - cached.verifiedAt >= this.opts.refreshIntervalMs) this.revalidate(upstream.name, gun, tag, decision.roles, key);
      return { verdict: toVerdict(cached), cache: 'hit' };
    }
    const result = await this.tagFlights.run(key, () => this.resolveFresh(upstream.name, gun, tag, decision.roles, key, this.opts.refreshIntervalMs));
    return { verdict: toVerdict(result), cache: 'miss' };
  }

  /** Is `digest` a target signed in one of the policy's roles of the repository? */
  async admitDigest(target: PullTarget, digest: string): Promise<DigestVerdict> {
    const memo = await this.refreshed(target.upstream.name, target.gun, this.opts.refreshIntervalMs);
    memo.signed ??= signedDigests(memo.refresh.set);
    const role = target.decision.roles.find((r) => memo.signed?.get(r)?.has(digest));
    return { system: 'notary', signed: role !== undefined, signedBy: role, expires: memo.expires, stale: memo.refresh.set.stale };
  }

  /** Tags that resolve for Docker (signed in an accepted role, not shadowed by another delegation). */
  async signedTags(target: PullTarget, candidates: readonly string[]): Promise<ReadonlySet<string>> {
    const roles = target.decision.roles;
    const memo = await this.refreshed(target.upstream.name, target.gun, this.opts.refreshIntervalMs);
    const listed = new Set<string>();
    for (const role of roles) for (const name of memo.refresh.set.targetsFiles.get(role)?.data.targets.names() ?? []) listed.add(name);
    const out = new Set<string>();
    for (const tag of candidates) {
      if (!listed.has(tag)) continue;
      try {
        resolveExplained(memo.refresh, tag, roles);
        out.add(tag);
      } catch (err) {
        if (!(err instanceof NotSignedError || err instanceof DeserializationError)) throw err;
      }
    }
    return out;
  }

  /** Forget what this process verified: the next pull of every repository refreshes. */
  invalidate(): void {
    this.memo.clear();
  }

  *expiries(): IterableIterator<TrustExpiry> {
    for (const [gun, m] of this.memo) yield { system: 'notary', gun, expires: m.expires, stale: m.refresh.set.stale };
  }

  /** Calls that joined a refresh or tag resolution already in flight (metrics). */
  joined(): Record<string, number> {
    return { trust_refresh: this.refreshes.joined, tag_resolution: this.tagFlights.joined };
  }

  private async resolveFresh(upstream: string, gun: string, tag: string, roles: readonly string[], key: string, maxAge: number): Promise<TagResult> {
    const memo = await this.refreshed(upstream, gun, maxAge);
    let target;
    try {
      target = resolveExplained(memo.refresh, tag, roles);
    } catch (err) {
      if (err instanceof NotSignedError) await this.opts.results.deleteTag(key);
      throw err;
    }
    const result: TagResult = {
      digest: target.digest,
      length: target.length,
      role: target.role,
      signers: target.signers,
      expires: target.expires.getTime(),
      verifiedAt: memo.at,
      ...(target.stale ? { stale: true } : {}),
    };
    const ttl = result.expires - this.clock();
    if (ttl > 0) await this.opts.results.putTag(key, result, ttl);
    return result;
  }

  /** Refresh in the background; the cached answer is served meanwhile. */
  private revalidate(upstream: string, gun: string, tag: string, roles: readonly string[], key: string): void {
    void this.tagFlights.run(`revalidate|${key}`, () => this.resolveFresh(upstream, gun, tag, roles, key, 0)).catch((err: unknown) => {
      // a revoked tag was deleted by resolveFresh; an outage keeps the answer until it expires
      this.opts.onBackgroundError?.(gun, err);
    });
  }

  /** Verified trust data no older than `maxAge`, refreshed once at a time per GUN. */
  private async refreshed(upstream: string, gun: string, maxAge: number): Promise<Memo> {
    const m = this.memo.get(gun);
    const now = this.clock();
    if (m && now - m.at < maxAge && now < m.expires) return m;
    return this.refreshes.run(gun, async () => {
      let refresh: RefreshResult;
      try {
        refresh = await this.opts.updaterFor(upstream).refresh(gun);
      } catch (err) {
        this.opts.onRefresh?.(upstream, gun, false);
        throw err;
      }
      this.opts.onRefresh?.(upstream, gun, true);
      const fresh: Memo = { refresh, at: this.clock(), expires: acceptedUntil(refresh.set).getTime() };
      this.memo.set(gun, fresh);
      return fresh;
    });
  }
}

function toVerdict(r: TagResult): ResolvedTag['verdict'] {
  return {
    system: 'notary',
    digest: r.digest,
    length: r.length,
    signedBy: r.role,
    signers: r.signers,
    expires: r.expires,
    verifiedAt: r.verifiedAt,
    stale: r.stale,
  };
}

/** Digests signed directly in each role's file (by-digest pulls may name any signed target). */
function signedDigests(set: TrustedMetadataSet): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const [role, file] of set.targetsFiles) {
    const digests = new Set<string>();
    for (const name of file.data.targets.names()) {
      let b64: string | undefined;
      try {
        b64 = file.data.targets.get(name)?.hashes.get('sha256');
      } catch (err) {
        if (err instanceof DeserializationError) continue; // a malformed entry signs nothing
        throw err;
      }
      const hash = b64 === undefined ? undefined : Buffer.from(b64, 'base64');
      if (hash?.length === 32) digests.add(`sha256:${hash.toString('hex')}`);
    }
    out.set(role, digests);
  }
  return out;
}

// Resolving tags for pulls: verified answers cached until the trust data behind them expires,
// revalidated in the background once older than the refresh interval (warm pulls never wait on
// Notary; a re-signed or revoked tag takes effect within the interval), one refresh per GUN at a
// time per process.

import { NotSignedError } from '../errors.js';
import type { ResultCache, TagResult } from '../cache/results.js';
import { SingleFlight } from '../cache/single-flight.js';
import { resolveExplained, type RefreshResult, type TrustUpdater } from '../notary/updater.js';
import { DeserializationError } from '../errors.js';
import { acceptedUntil, type TrustedMetadataSet } from '../trust/index.js';

export interface TrustServiceOptions {
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

export interface ResolvedTag {
  readonly result: TagResult;
  readonly cache: 'hit' | 'miss';
}

export class TrustService {
  private readonly memo = new Map<string, Memo>();
  readonly refreshes = new SingleFlight<Memo>();
  private readonly tagFlights = new SingleFlight<TagResult>();
  private readonly clock: () => number;

  constructor(private readonly opts: TrustServiceOptions) {
    this.clock = opts.clock ?? Date.now;
  }

  /** The digest `tag` is signed to, for the roles the policy accepts. Throws NotSignedError etc. */
  async resolveTag(upstream: string, gun: string, tag: string, roles: readonly string[]): Promise<ResolvedTag> {
    const key = `${gun}|${roles.join(',')}|${tag}`;
    const now = this.clock();
    const cached = await this.opts.results.getTag(key);
    if (cached && cached.expires > now) {
      if (now - cached.verifiedAt >= this.opts.refreshIntervalMs) this.revalidate(upstream, gun, tag, roles, key);
      return { result: cached, cache: 'hit' };
    }
    const result = await this.tagFlights.run(key, () => this.resolveFresh(upstream, gun, tag, roles, key, this.opts.refreshIntervalMs));
    return { result, cache: 'miss' };
  }

  /** Is `digest` a target signed in one of `roles` of the repository? */
  async isSignedDigest(upstream: string, gun: string, digest: string, roles: readonly string[]): Promise<boolean> {
    const memo = await this.refreshed(upstream, gun, this.opts.refreshIntervalMs);
    memo.signed ??= signedDigests(memo.refresh.set);
    return roles.some((r) => memo.signed?.get(r)?.has(digest));
  }

  /** Forget what this process verified: the next pull of every repository refreshes. */
  invalidate(): void {
    this.memo.clear();
  }

  /** Each remembered repository with the earliest expiry of its trust data (metrics). */
  *expiries(): IterableIterator<{ gun: string; expires: number; stale: boolean }> {
    for (const [gun, m] of this.memo) yield { gun, expires: m.expires, stale: m.refresh.set.stale };
  }

  /** Calls that joined a refresh or tag resolution already in flight (metrics). */
  joined(): Record<string, number> {
    return { trust_refresh: this.refreshes.joined, tag_resolution: this.tagFlights.joined };
  }

  /** Tags that resolve for Docker (signed in an accepted role, not shadowed by another delegation). */
  async signedTags(upstream: string, gun: string, roles: readonly string[]): Promise<Set<string>> {
    const memo = await this.refreshed(upstream, gun, this.opts.refreshIntervalMs);
    const candidates = new Set<string>();
    for (const role of roles) for (const name of memo.refresh.set.targetsFiles.get(role)?.data.targets.names() ?? []) candidates.add(name);
    const out = new Set<string>();
    for (const tag of candidates) {
      try {
        resolveExplained(memo.refresh, tag, roles);
        out.add(tag);
      } catch (err) {
        if (!(err instanceof NotSignedError || err instanceof DeserializationError)) throw err;
      }
    }
    return out;
  }

  /** Epoch ms until which the repository's current trust data is valid. */
  async trustExpiry(upstream: string, gun: string): Promise<number> {
    return (await this.refreshed(upstream, gun, this.opts.refreshIntervalMs)).expires;
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
      const fresh: Memo = { refresh, at: this.clock(), expires: earliestExpiry(refresh.set) };
      this.remember(gun, fresh);
      return fresh;
    });
  }

  private remember(gun: string, m: Memo): void {
    this.memo.delete(gun);
    if (this.memo.size >= (this.opts.maxMemo ?? 10_000)) this.memo.delete(this.memo.keys().next().value as string);
    this.memo.set(gun, m);
  }
}

/** Until when the repository's trust data is accepted (offline grace included). */
function earliestExpiry(set: TrustedMetadataSet): number {
  return acceptedUntil(set).getTime();
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

// Notary as a TrustSource. Every answer is derived from trust data this process verified itself —
// never from an answer another replica left in a shared store — and that trust data is:
//   fresh       refreshed once it is older than `trust.refreshInterval` (the pull waits for it), and in
//               the background once it is half that old (so warm pulls rarely wait): a revoked or
//               re-pointed tag is refused within the interval plus one refresh
//   kept        while Notary or the store are out (a transport failure), until it expires
//               (stale-if-error); a verification failure is never papered over
//   single      one refresh per GUN at a time per process
//   forgotten   at once on `invalidate` (SIGHUP, an import): a refresh already under way then neither
//               serves later pulls nor is kept, since it may have read the trust data the import replaced

import { BoundedMap } from '../cache/bounded-map.js';
import { SingleFlight } from '../cache/single-flight.js';
import { DeserializationError, NotSignedError, TransportError } from '../errors.js';
import type { PullTarget } from '../pull/target.js';
import type { DigestVerdict, ResolvedTag, TagVerdict, TrustExpiry, TrustSource } from '../pull/trust-source.js';
import { acceptedUntil, signedDigests } from '../trust/index.js';
import { resolveExplained, type RefreshResult, type TrustUpdater } from './updater.js';

export interface NotarySourceOptions {
  /** The updater of the upstream a GUN belongs to. */
  readonly updaterFor: (upstream: string) => TrustUpdater;
  readonly refreshIntervalMs: number;
  readonly clock?: () => number;
  readonly onBackgroundError?: (gun: string, err: unknown) => void;
  /** Called after every refresh of a repository's trust data (metrics). */
  readonly onRefresh?: (upstream: string, gun: string, ok: boolean) => void;
  /** Repositories whose verified trust data is kept in process (least recently used out). */
  readonly maxMemo?: number;
}

/** One repository's verified trust data, and what has been derived from it. */
interface Memo {
  readonly refresh: RefreshResult;
  /** When the refresh that produced it started: nothing it says is older than this. */
  readonly at: number;
  readonly expires: number;
  /** After a failed refresh: no new attempt by a pull before this (the old data is served). */
  retryAt?: number;
  readonly tags: Map<string, TagVerdict | NotSignedError>;
  readonly digests: Map<string, Map<string, string>>;
}

export class NotaryTrustSource implements TrustSource {
  readonly system = 'notary' as const;
  private readonly memo: BoundedMap<string, Memo>;
  readonly refreshes = new SingleFlight<Memo>();
  private readonly clock: () => number;
  /** Raised by every invalidation: refreshes begun under an older one are not remembered. */
  private generation = 0;

  constructor(private readonly opts: NotarySourceOptions) {
    this.clock = opts.clock ?? Date.now;
    this.memo = new BoundedMap(opts.maxMemo ?? 10_000);
  }

  async resolveTag(target: PullTarget, tag: string): Promise<ResolvedTag> {
    const { memo, cache } = await this.current(target);
    const key = `${target.decision.roles.join(',')}|${tag}`;
    let answer = memo.tags.get(key);
    if (answer === undefined) {
      answer = tagVerdict(memo, tag, target.decision.roles);
      if (memo.tags.size < MAX_DERIVED) memo.tags.set(key, answer);
    }
    if (answer instanceof NotSignedError) throw answer;
    return { verdict: answer, cache };
  }

  /** Is `digest` signed in one of the policy's roles, inside the role's delegated paths? */
  async admitDigest(target: PullTarget, digest: string): Promise<DigestVerdict> {
    const { memo } = await this.current(target);
    const key = target.decision.roles.join(',');
    let signed = memo.digests.get(key);
    if (!signed) memo.digests.set(key, (signed = signedDigests(memo.refresh.set, target.decision.roles)));
    const role = signed.get(digest);
    return { system: 'notary', signed: role !== undefined, signedBy: role, expires: memo.expires, verifiedAt: memo.at, stale: memo.refresh.set.stale };
  }

  /** Tags that resolve for Docker (signed in an accepted role, not shadowed by another delegation). */
  async signedTags(target: PullTarget, candidates: readonly string[]): Promise<ReadonlySet<string>> {
    const { memo } = await this.current(target);
    const roles = target.decision.roles;
    const listed = new Set<string>();
    for (const role of roles) for (const name of memo.refresh.set.targetsFiles.get(role)?.data.targets.names() ?? []) listed.add(name);
    return new Set(candidates.filter((tag) => listed.has(tag) && resolves(memo, tag, roles)));
  }

  /** Forget what this process verified (of `guns`, or of every repository): their next pull refreshes. */
  invalidate(guns?: readonly string[]): void {
    this.generation++;
    if (!guns) this.memo.clear();
    else for (const gun of guns) this.memo.delete(gun);
  }

  *expiries(): IterableIterator<TrustExpiry> {
    for (const [gun, m] of this.memo) yield { system: 'notary', gun, expires: m.expires, stale: m.refresh.set.stale };
  }

  /** Calls that joined a refresh already in flight (metrics). */
  joined(): Record<string, number> {
    return { trust_refresh: this.refreshes.joined };
  }

  /** The repository's verified trust data, refreshed as the header says. */
  private async current(target: PullTarget): Promise<{ memo: Memo; cache: 'hit' | 'miss' }> {
    const { gun } = target;
    const upstream = target.upstream.name;
    const m = this.memo.get(gun);
    const now = this.clock();
    const interval = this.opts.refreshIntervalMs;
    if (m && now < m.expires && (now - m.at < interval || (m.retryAt ?? 0) > now)) {
      if (now - m.at >= interval / 2 && (m.retryAt ?? 0) <= now) this.refreshInBackground(upstream, gun);
      return { memo: m, cache: 'hit' };
    }
    try {
      return { memo: await this.refreshes.run(this.flightKey(gun), () => this.refresh(upstream, gun)), cache: 'miss' };
    } catch (err) {
      // stale-if-error: Notary or the store is out, and what this process verified is still valid
      if (!(err instanceof TransportError) || !m || now >= m.expires) throw err;
      m.retryAt = now + Math.min(interval, RETRY_AFTER_MS);
      this.opts.onBackgroundError?.(gun, err);
      return { memo: m, cache: 'hit' };
    }
  }

  private refreshInBackground(upstream: string, gun: string): void {
    void this.refreshes.run(this.flightKey(gun), () => this.refresh(upstream, gun)).catch((err: unknown) => {
      const m = this.memo.peek(gun);
      if (m && err instanceof TransportError) m.retryAt = this.clock() + Math.min(this.opts.refreshIntervalMs, RETRY_AFTER_MS);
      this.opts.onBackgroundError?.(gun, err);
    });
  }

  /** Pulls after an invalidation never join a refresh begun before it. */
  private flightKey(gun: string): string {
    return `${this.generation}|${gun}`;
  }

  private async refresh(upstream: string, gun: string): Promise<Memo> {
    const at = this.clock();
    const generation = this.generation;
    let refresh: RefreshResult;
    try {
      refresh = await this.opts.updaterFor(upstream).refresh(gun);
    } catch (err) {
      this.opts.onRefresh?.(upstream, gun, false);
      throw err;
    }
    this.opts.onRefresh?.(upstream, gun, true);
    const fresh: Memo = { refresh, at, expires: acceptedUntil(refresh.set).getTime(), tags: new Map(), digests: new Map() };
    if (generation === this.generation) this.memo.set(gun, fresh);
    return fresh;
  }
}

/** Derived answers kept per repository and trust data version (tags asked for, role sets). */
const MAX_DERIVED = 4096;
/** How long pulls are answered from still-valid trust data after a refresh failed, before trying again. */
const RETRY_AFTER_MS = 5_000;

/** Does `tag` resolve to a verified digest? (A malformed entry does not.) */
function resolves(memo: Memo, tag: string, roles: readonly string[]): boolean {
  try {
    return !(tagVerdict(memo, tag, roles) instanceof NotSignedError);
  } catch (err) {
    if (err instanceof DeserializationError) return false;
    throw err;
  }
}

/** Resolve `tag` as Docker does in verified trust data: the verdict, or why it is not signed. */
function tagVerdict(memo: Memo, tag: string, roles: readonly string[]): TagVerdict | NotSignedError {
  try {
    const t = resolveExplained(memo.refresh, tag, roles);
    return {
      system: 'notary',
      digest: t.digest,
      length: t.length,
      signedBy: t.role,
      signers: t.signers,
      expires: Math.min(t.expires.getTime(), memo.expires),
      verifiedAt: memo.at,
      stale: t.stale,
    };
  } catch (err) {
    if (err instanceof NotSignedError) return err;
    throw err; // a malformed target entry fails the pull as malformed trust data, and is not remembered
  }
}

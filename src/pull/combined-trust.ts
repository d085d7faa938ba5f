// `trust: any` and `trust: all`: Notary and Sigstore asked the same question, their answers combined
// as containers/image combines policy requirements (signature/policy_eval.go) — either one verifying
// suffices (a repository migrating from Notary to Sigstore keeps serving throughout), or both must
// verify and name the same digest (a repository signed in both systems during the overlap).

import { NotSignedError, SigstoreError, TransportError, TrustgateError, TrustSystemsDisagreeError } from '../errors.js';
import type { PullTarget } from './target.js';
import type { DigestVerdict, ResolvedTag, TrustExpiry, TrustSource } from './trust-source.js';

/** Which failure to report when neither system verified: the one that says most about the repository. */
function telling(first: unknown, second: unknown): unknown {
  // a repository Notary knows nothing about is presumably signed with Sigstore: its refusal is the news
  if (first instanceof NotSignedError && second instanceof SigstoreError) return second;
  if (first instanceof TransportError && !(second instanceof TransportError)) return second;
  return first;
}

function isRefusal(err: unknown): err is TrustgateError {
  return err instanceof TrustgateError;
}

export class AnyTrustSource implements TrustSource {
  /** Either answers; each verdict names the system that verified it. */
  readonly system = 'notary+sigstore' as const;
  constructor(
    private readonly first: TrustSource,
    private readonly second: TrustSource,
  ) {}

  async resolveTag(target: PullTarget, tag: string): Promise<ResolvedTag> {
    try {
      return await this.first.resolveTag(target, tag);
    } catch (err) {
      if (!isRefusal(err)) throw err;
      try {
        return await this.second.resolveTag(target, tag);
      } catch (err2) {
        if (!isRefusal(err2)) throw err2;
        throw telling(err, err2);
      }
    }
  }

  async admitDigest(target: PullTarget, digest: string): Promise<DigestVerdict> {
    let failure: unknown;
    for (const source of [this.first, this.second]) {
      try {
        const v = await source.admitDigest(target, digest);
        if (v.signed) return v;
      } catch (err) {
        if (!isRefusal(err)) throw err;
        failure ??= err;
      }
    }
    if (failure !== undefined) throw failure;
    return this.second.admitDigest(target, digest);
  }

  async signedTags(target: PullTarget, candidates: readonly string[]): Promise<ReadonlySet<string>> {
    const out = new Set<string>();
    for (const source of [this.first, this.second]) {
      try {
        for (const t of await source.signedTags(target, candidates)) out.add(t);
      } catch (err) {
        if (!isRefusal(err)) throw err;
      }
    }
    return out;
  }

  invalidate(): void {
    this.first.invalidate();
    this.second.invalidate();
  }

  *expiries(): Iterable<TrustExpiry> {
    yield* this.first.expiries();
    yield* this.second.expiries();
  }
}

/** Both answers, or the first system's failure (whichever finished first: the report must not vary). */
function settledBoth<A, B>([a, b]: [PromiseSettledResult<A>, PromiseSettledResult<B>]): [A, B] {
  if (a.status === 'rejected') throw a.reason;
  if (b.status === 'rejected') throw b.reason;
  return [a.value, b.value];
}

export class AllTrustSource implements TrustSource {
  readonly system = 'notary+sigstore' as const;
  constructor(
    private readonly first: TrustSource,
    private readonly second: TrustSource,
  ) {}

  async resolveTag(target: PullTarget, tag: string): Promise<ResolvedTag> {
    const [a, b] = settledBoth(await Promise.allSettled([this.first.resolveTag(target, tag), this.second.resolveTag(target, tag)]));
    if (a.verdict.digest !== b.verdict.digest) {
      throw new TrustSystemsDisagreeError(`${target.gun}:${tag}: ${a.verdict.system} signs ${a.verdict.digest}, ${b.verdict.system} signs ${b.verdict.digest}`);
    }
    return {
      verdict: {
        system: this.system,
        digest: a.verdict.digest,
        length: a.verdict.length ?? b.verdict.length,
        signedBy: `${a.verdict.signedBy}+${b.verdict.signedBy}`,
        signers: [...a.verdict.signers, ...b.verdict.signers],
        expires: Math.min(a.verdict.expires, b.verdict.expires),
        verifiedAt: Math.min(a.verdict.verifiedAt, b.verdict.verifiedAt),
        stale: a.verdict.stale === true || b.verdict.stale === true,
      },
      cache: a.cache === 'hit' && b.cache === 'hit' ? 'hit' : 'miss',
    };
  }

  async admitDigest(target: PullTarget, digest: string): Promise<DigestVerdict> {
    const [a, b] = settledBoth(await Promise.allSettled([this.first.admitDigest(target, digest), this.second.admitDigest(target, digest)]));
    const signed = a.signed && b.signed;
    return {
      system: this.system,
      signed,
      signedBy: signed ? `${a.signedBy}+${b.signedBy}` : undefined,
      expires: Math.min(a.expires, b.expires),
      verifiedAt: Math.min(a.verifiedAt, b.verifiedAt),
      stale: a.stale === true || b.stale === true,
    };
  }

  async signedTags(target: PullTarget, candidates: readonly string[]): Promise<ReadonlySet<string>> {
    const [a, b] = settledBoth(await Promise.allSettled([this.first.signedTags(target, candidates), this.second.signedTags(target, candidates)]));
    return new Set([...a].filter((t) => b.has(t)));
  }

  invalidate(): void {
    this.first.invalidate();
    this.second.invalidate();
  }

  *expiries(): Iterable<TrustExpiry> {
    yield* this.first.expiries();
    yield* this.second.expiries();
  }
}

// The seam between the pull use cases and the trust systems. pull/ asks one question of a TrustSource
// — which digest may this tag serve, and may this digest be served for this repository — and Notary
// (notary/source.ts) and Sigstore (sigstore/source.ts) answer it. Everything system-specific stays
// behind this interface: fetching and verifying trust data, caching verdicts, rollback memory.
// (containers/image signature/policy_eval_*.go: one evaluator per requirement type, combined by policy.)

import type { PullTarget } from './target.js';

/** A verdict's system: one, or both for `trust: all` (pull/combined-trust.ts). */
export type TrustSystem = 'notary' | 'sigstore' | 'notary+sigstore';

/** A verified answer: `tag` may serve the manifest whose bytes hash to `digest`. */
export interface TagVerdict {
  readonly system: TrustSystem;
  /** `sha256:<hex>` of the manifest bytes. */
  readonly digest: string;
  /** The signed length of the manifest bytes, when the system signs one (Notary); else undefined. */
  readonly length?: number | undefined;
  /** What signed it, for the audit line: a Notary role (`targets/releases`), a Sigstore authority. */
  readonly signedBy: string;
  /** Key IDs or certificate identities whose signatures verified. */
  readonly signers: readonly string[];
  /** Epoch ms after which the verdict must not be served (the trust data behind it expires). */
  readonly expires: number;
  /** Epoch ms when it was last verified against fresh trust data. */
  readonly verifiedAt: number;
  /** Accepted under an offline grace (expired timestamp/snapshot metadata). */
  readonly stale?: boolean | undefined;
}

export interface ResolvedTag {
  readonly verdict: TagVerdict;
  /** hit: answered from a verified-results cache; miss: verified just now. */
  readonly cache: 'hit' | 'miss';
}

/**
 * Whether `digest` itself is signed for the repository, per trust data valid until `expires`.
 * (Children of a signed index are pull/'s business: it admits them through their verified parent.)
 */
export interface DigestVerdict {
  readonly system: TrustSystem;
  readonly signed: boolean;
  /** What signed it, when signed. */
  readonly signedBy: string | undefined;
  /** Epoch ms after which this verdict, either way, must be asked again. */
  readonly expires: number;
  /** Epoch ms when the trust data behind it was fetched. */
  readonly verifiedAt: number;
  readonly stale?: boolean | undefined;
}

/** A repository's trust expiry, for metrics and the status view. */
export interface TrustExpiry {
  readonly system: TrustSystem;
  readonly gun: string;
  /** Epoch ms until which its trust data is accepted (offline grace included). */
  readonly expires: number;
  /** Served under the offline grace now. */
  readonly stale: boolean;
}

export interface TrustSource {
  readonly system: TrustSystem;
  /** The verified digest `tag` may serve; throws a TrustgateError (not signed, failed verification, unreachable). */
  resolveTag(target: PullTarget, tag: string): Promise<ResolvedTag>;
  /** Whether `digest` is itself signed for the repository. */
  admitDigest(target: PullTarget, digest: string): Promise<DigestVerdict>;
  /** Of `candidates` (the upstream's tags), those that resolve to a verified digest. */
  signedTags(target: PullTarget, candidates: readonly string[]): Promise<ReadonlySet<string>>;
  /** Forget cached verdicts (SIGHUP, an import): the next pull verifies again. */
  invalidate(): void;
  /** Each repository this process holds verified trust data for. */
  expiries(): Iterable<TrustExpiry>;
}

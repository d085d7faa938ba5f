// A trust source whose verdicts a test sets, and a manifest service over it and an in-process registry
// on an injected clock: for pull-path unit tests of what the manifest use case does with a verdict.

import type { Test } from 'tap';
import { MemoryResultCache } from '../../src/cache/results.js';
import { PolicyDeniedError, UnreachableError } from '../../src/errors.js';
import type { Decision } from '../../src/policy/policy.js';
import { ManifestService, type ManifestServiceOptions } from '../../src/pull/manifests.js';
import { SignatureArtifacts } from '../../src/pull/signature-artifacts.js';
import type { PullTarget } from '../../src/pull/target.js';
import type { DigestVerdict, ResolvedTag, TagVerdict, TrustSource } from '../../src/pull/trust-source.js';
import { OCI_INDEX, OCI_MANIFEST } from '../../src/registry/media-types.js';
import { DOCKER_ROLES, NO_PINNING } from '../../src/trust/index.js';
import { FakeRegistry } from './fake-registry.js';

export const INTERVAL = 60_000;
export const START = 1_000;

export const image = (n: string) => Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { digest: `sha256:${n.repeat(64)}` }, layers: [] }));
export const indexOf = (...children: string[]) =>
  Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: children.map((digest) => ({ mediaType: OCI_MANIFEST, digest, size: 1 })) }));

export interface TagAnswer extends Partial<Omit<TagVerdict, 'digest'>> {
  readonly digest: string;
  /** When the trust data behind it was verified; the source's `verifiedAt` when unset. */
  readonly verifiedAt?: number;
  /** Only these exact roles (joined with ',') resolve the tag; any when unset. */
  readonly roles?: string;
  /** The trust source's own cache outcome for the answer (default `miss`). */
  readonly cache?: 'hit' | 'miss';
}

/**
 * Signs what a test says (a tag's answer as of the question, however long the question is held);
 * records every question (the tag or the digest asked about); can be made unreachable.
 */
export class Verdicts {
  readonly tags = new Map<string, TagAnswer>();
  readonly signed = new Set<string>();
  expires = Number.MAX_SAFE_INTEGER;
  verifiedAt = START;
  stale: boolean | undefined;
  /** Every question fails as an unreachable Notary would. */
  failing = false;
  /** While set, tag questions wait for it. */
  hold: Promise<void> | undefined;
  readonly asked: string[] = [];
  readonly source: TrustSource = {
    system: 'notary',
    resolveTag: async (p, tag): Promise<ResolvedTag> => {
      this.asked.push(tag);
      const v = this.tags.get(tag);
      const hold = this.hold;
      if (hold) await hold;
      if (this.failing) throw new UnreachableError('sim://notary', 'down');
      if (!v || (v.roles !== undefined && v.roles !== p.decision.roles.join(','))) throw new PolicyDeniedError('DIGEST_NOT_SIGNED', 'unsigned');
      const { roles: _roles, cache, ...fields } = v;
      const verdict: TagVerdict = { system: 'notary', signedBy: 'targets/releases', signers: ['k1'], expires: this.expires, verifiedAt: this.verifiedAt, stale: this.stale, ...fields };
      return { verdict, cache: cache ?? 'miss' };
    },
    admitDigest: async (_p, digest): Promise<DigestVerdict> => {
      this.asked.push(digest);
      if (this.failing) throw new UnreachableError('sim://notary', 'down');
      const signed = this.signed.has(digest);
      return { system: 'notary', signed, signedBy: signed ? 'targets' : undefined, expires: this.expires, verifiedAt: this.verifiedAt, stale: this.stale };
    },
    signedTags: async () => new Set(),
    invalidate: () => undefined,
    expiries: () => [],
  };
}

export interface WorldOptions {
  readonly decision?: Partial<Decision>;
  readonly maxBytes?: number;
  readonly maxHot?: number;
  /** Parent hints kept, at most (MemoryResultCache's bound). */
  readonly maxHints?: number;
  /** Without a signature-artifact service (a deployment with no Sigstore policy). */
  readonly noArtifacts?: boolean;
  /** The repository of `target` (library/bounds when unset). */
  readonly repository?: string;
}

export async function world(t: Test, o: WorldOptions = {}) {
  const registry = new FakeRegistry();
  const upstream = await registry.start(t);
  const verdicts = new Verdicts();
  let now = START;
  const clock = () => now;
  const results = new MemoryResultCache(256 << 20, o.maxHints ?? 100_000, clock);
  const artifacts = o.noArtifacts ? undefined : new SignatureArtifacts(1 << 20);
  const opts: ManifestServiceOptions = { trustFor: () => verdicts.source, results, maxBytes: o.maxBytes ?? 1 << 20, refreshIntervalMs: INTERVAL, clock, artifacts, maxHot: o.maxHot };
  const manifests = new ManifestService(opts);
  artifacts?.bind((p, d) => manifests.servable(p, d));
  const decision: Decision = { action: 'verify', roles: DOCKER_ROLES, pinning: NO_PINNING, rule: '*', ...o.decision };
  const repository = o.repository ?? 'library/bounds';
  /** The same upstream and decision for another repository (its GUN under docker.io). */
  const targetOf = (gun: string): PullTarget => ({ upstream, repository: gun.slice('docker.io/'.length), gun, decision, accept: undefined });
  const target = targetOf(`docker.io/${repository}`);
  return { registry, verdicts, results, manifests, target, targetOf, now: clock, at: (ms: number) => (now = ms) };
}

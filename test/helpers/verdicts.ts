// A trust source whose verdicts a test sets, and a manifest service over it and an in-process registry
// on an injected clock: for pull-path unit tests of what the manifest use case does with a verdict.

import type { Test } from 'tap';
import { MemoryResultCache } from '../../src/cache/results.js';
import { PolicyDeniedError } from '../../src/errors.js';
import type { Decision } from '../../src/policy/policy.js';
import { ManifestService, type ManifestServiceOptions } from '../../src/pull/manifests.js';
import { SignatureArtifacts } from '../../src/pull/signature-artifacts.js';
import type { PullTarget } from '../../src/pull/target.js';
import type { DigestVerdict, ResolvedTag, TrustSource } from '../../src/pull/trust-source.js';
import { OCI_INDEX, OCI_MANIFEST } from '../../src/registry/media-types.js';
import { DOCKER_ROLES, NO_PINNING } from '../../src/trust/index.js';
import { FakeRegistry } from './fake-registry.js';

export const INTERVAL = 60_000;
export const START = 1_000;

export const image = (n: string) => Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { digest: `sha256:${n.repeat(64)}` }, layers: [] }));
export const indexOf = (...children: string[]) =>
  Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: children.map((digest) => ({ mediaType: OCI_MANIFEST, digest, size: 1 })) }));

export interface TagAnswer {
  readonly digest: string;
  readonly length?: number;
  /** When the trust data behind it was verified; the source's `verifiedAt` when unset. */
  readonly verifiedAt?: number;
  /** Only these exact roles (joined with ',') resolve the tag; any when unset. */
  readonly roles?: string;
}

/** Signs what a test says; records every question. */
export class Verdicts {
  readonly tags = new Map<string, TagAnswer>();
  readonly signed = new Set<string>();
  expires = Number.MAX_SAFE_INTEGER;
  verifiedAt = START;
  stale: boolean | undefined;
  readonly asked: unknown[] = [];
  readonly source: TrustSource = {
    system: 'notary',
    resolveTag: async (p, tag): Promise<ResolvedTag> => {
      this.asked.push(tag);
      const v = this.tags.get(tag);
      if (!v || (v.roles !== undefined && v.roles !== p.decision.roles.join(','))) throw new PolicyDeniedError('DIGEST_NOT_SIGNED', 'unsigned');
      const verifiedAt = v.verifiedAt ?? this.verifiedAt;
      const verdict = { system: 'notary' as const, digest: v.digest, length: v.length, signedBy: 'targets/releases', signers: ['k1'], expires: this.expires, verifiedAt, stale: this.stale };
      return { verdict, cache: 'miss' };
    },
    admitDigest: async (_p, digest): Promise<DigestVerdict> => {
      this.asked.push(digest);
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
  const target: PullTarget = { upstream, repository: 'library/bounds', gun: 'docker.io/library/bounds', decision, accept: undefined };
  return { registry, verdicts, results, manifests, target, now: clock, at: (ms: number) => (now = ms) };
}

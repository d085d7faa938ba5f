// The Sigstore part of `trust export --images`: the digest a tag points at now (as a pull resolves
// it), the signature artifacts of that digest collected into bundle files and verified there with the
// rule's keys, identities and trusted root — as a pull verifies them, over exactly the bytes that
// travel — and, for an index, its children's signatures. The keys and trusted root the rule verified
// with travel too, so the far side can see what was used (its own configuration decides).

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { SigstorePolicy } from '../config/sigstore.js';
import { ConfigError } from '../errors.js';
import type { RegistryUpstream } from '../registry/upstream.js';
import { verifyDigestSignatures } from '../sigstore/digest-signatures.js';
import { registryTagDigest, upstreamFetcher } from '../sigstore/fetcher.js';
import type { VerifiedSignature } from '../sigstore/verify.js';
import type { BundleSigstore } from './bundle.js';
import { ArtifactCollector, dirLayoutFetcher, type BundleArtifact } from './signatures.js';

export interface SigstoreRepository {
  readonly upstream: RegistryUpstream;
  readonly repository: string;
  readonly gun: string;
  readonly policy: SigstorePolicy;
  readonly manifestMaxBytes: number;
}

export interface SigstoreTag {
  readonly digest: string;
  readonly signatures: readonly VerifiedSignature[];
  readonly artifacts: readonly BundleArtifact[];
  /** The artifacts' bundle files (path → bytes), for the caller to keep once the image is exported. */
  readonly files: ReadonlyMap<string, Buffer>;
  /** Collects the signature artifacts of the image's children (an index). */
  readonly collector: ArtifactCollector;
}

/** Verify `tag` (at `digest`, when another system already named it) from the artifacts that will travel. */
export async function exportSigstoreTag(repo: SigstoreRepository, tag: string, digest?: string): Promise<SigstoreTag> {
  const d = digest ?? (await registryTagDigest(repo.upstream, repo.repository, tag, repo.manifestMaxBytes));
  const collector = new ArtifactCollector(upstreamFetcher(repo.upstream), repo.repository, repo.gun);
  const artifacts = await collector.collect(d);
  const files = collector.files;
  const fetcher = dirLayoutFetcher(async (p) => files.get(p), repo.gun, artifacts);
  const signatures = await verifyDigestSignatures(fetcher, { repository: repo.repository, gun: repo.gun, digest: d }, repo.policy);
  return { digest: d, signatures, artifacts, files, collector };
}

/** The signatures of an index's children (cosign --recursive, skopeo --all), where they have any. */
export async function childArtifacts(signed: SigstoreTag, children: readonly string[]): Promise<BundleArtifact[]> {
  const out: BundleArtifact[] = [];
  for (const child of children) out.push(...(await signed.collector.collect(child)));
  return out;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The rule's keys (PEM) and trusted root into bundle files, and what names them in bundle.json. */
export async function sigstoreMaterial(gun: string, policy: SigstorePolicy, files: Map<string, Buffer>): Promise<BundleSigstore> {
  const keys = policy.keys.map((k) => {
    const path = `sigstore/keys/${k.id}.pub`;
    files.set(path, Buffer.from(k.key.export({ type: 'spki', format: 'pem' }) as string));
    return path;
  });
  let trustedRoot: string | undefined;
  if (policy.trustedRootPath !== undefined) {
    const bytes = await readFile(policy.trustedRootPath).catch((cause: unknown) => {
      throw new ConfigError(`cannot read the trusted root ${policy.trustedRootPath}`, { cause });
    });
    trustedRoot = `sigstore/trusted-roots/${sha256(bytes)}.json`;
    files.set(trustedRoot, bytes);
  }
  const identities = policy.identities.map((id) => ({ issuer: id.issuer, ...(id.subject !== undefined ? { subject: id.subject } : { subjectRegExp: id.subjectRegExp?.source }) }));
  return { gun, keys, ...(trustedRoot ? { trustedRoot } : {}), identities };
}

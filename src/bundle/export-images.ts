// Which image a named tag exports, as the repository's policy rule verifies a pull of it:
//   notary    the digest and length the verified Notary trust data signs;
//   sigstore  the digest the registry names, with signatures that verify (export-sigstore.ts);
//   all       both, naming the same digest;
//   any       Notary's digest where it signs the tag (a pull asks Notary first), with the Sigstore
//             signatures of that digest where they verify; else the Sigstore answer.
// Then the image, its signature artifacts and its children's, into the bundle.

import { join } from 'node:path';
import type { SigstorePolicy, TrustMode } from '../config/sigstore.js';
import { SigstoreError, TrustgateError, TrustSystemsDisagreeError } from '../errors.js';
import { resolveExplained, type RefreshResult } from '../notary/updater.js';
import type { Services } from '../server/services.js';
import type { RegistryUpstream } from '../registry/upstream.js';
import type { BundleImage } from './bundle.js';
import { childArtifacts, exportSigstoreTag, type SigstoreRepository, type SigstoreTag } from './export-sigstore.js';
import { ImageExporter, type ImageExport } from './images.js';
import type { Hooks } from './progress.js';
import type { ExportSource } from './sources.js';

export interface RepositoryExport {
  readonly src: ExportSource;
  readonly mode: TrustMode;
  /** Notary's verified trust data, when the rule uses Notary and it verified. */
  readonly refresh?: RefreshResult | undefined;
  /** Why Notary did not verify (`trust: any` goes on with Sigstore). */
  readonly notaryFailure?: TrustgateError | undefined;
  readonly sigstore?: SigstorePolicy | undefined;
}

export interface SignedImage {
  readonly digest: string;
  /** The signed length, where the trust system signs one (Notary). */
  readonly length?: number | undefined;
  /** How it is signed, for the report: `signed in targets/releases`, `Sigstore: key:…`. */
  readonly signedBy: string;
  readonly sigstore?: SigstoreTag | undefined;
}

export type ImageReport = { readonly kind: 'image'; readonly gun: string; readonly signedBy: string; readonly signatureArtifacts: number } & ImageExport;

export interface ExportedImage {
  readonly image: BundleImage;
  /** Where it was written, and what. */
  readonly dir: string;
  readonly files: ReadonlyMap<string, number>;
}

/** Each named tag's signed image into images/<GUN>/_tags/<tag>/ under `base`; signature artifacts into `files`. */
export async function exportImages(services: Services, repo: RepositoryExport, base: string, files: Map<string, Buffer>, hooks: Hooks<ImageReport>): Promise<ExportedImage[]> {
  const { src } = repo;
  const tags = join('images', src.gun, '_tags');
  const upstream = services.upstreams.get(src.registry) as RegistryUpstream;
  const t = services.config.timeouts;
  const timeouts = { connectTimeoutMs: t.connectMs, headersTimeoutMs: t.headersMs, bodyIdleTimeoutMs: t.bodyIdleMs };
  const exporter = new ImageExporter(upstream, src.repository, join(base, tags), timeouts, hooks.progress);
  const ctx = { services, upstream, repo };
  const out: ExportedImage[] = [];
  try {
    for (const tag of src.tags) {
      const signed = await signedImage(ctx, tag);
      const image = await exporter.exportTag(tag, signed.digest, signed.length);
      const signatures = signed.sigstore ? [...signed.sigstore.artifacts, ...(await childArtifacts(signed.sigstore, image.children))] : [];
      for (const [p, b] of signed.sigstore?.collector.files ?? []) files.set(p, b);
      const entry: BundleImage = { gun: src.gun, tag, digest: signed.digest, path: `${tags}/${tag}`, ...(signatures.length > 0 ? { signatures } : {}) };
      out.push({ image: entry, dir: join(base, tags, tag), files: image.files });
      hooks.report?.({ kind: 'image', gun: src.gun, signedBy: signed.signedBy, signatureArtifacts: signatures.length, ...image });
    }
  } finally {
    await exporter.close();
  }
  return out;
}

interface TagContext {
  readonly services: Services;
  readonly upstream: RegistryUpstream;
  readonly repo: RepositoryExport;
}

export async function signedImage(ctx: TagContext, tag: string): Promise<SignedImage> {
  switch (ctx.repo.mode) {
    case 'sigstore':
      return fromSigstore(await exportSigstoreTag(sigstoreOf(ctx), tag));
    case 'all': {
      const n = notaryTag(ctx, tag);
      const s = await exportSigstoreTag(sigstoreOf(ctx), tag);
      if (n.digest !== s.digest) throw new TrustSystemsDisagreeError(`${ctx.repo.src.gun}:${tag}: notary signs ${n.digest}, sigstore signs ${s.digest}`);
      return { ...n, signedBy: `${n.signedBy} and ${fromSigstore(s).signedBy}`, sigstore: s };
    }
    case 'any':
      return eitherSigned(ctx, tag);
    default:
      return notaryTag(ctx, tag);
  }
}

async function eitherSigned(ctx: TagContext, tag: string): Promise<SignedImage> {
  let n: SignedImage;
  try {
    n = notaryTag(ctx, tag);
  } catch (err) {
    if (!(err instanceof TrustgateError)) throw err;
    return fromSigstore(await exportSigstoreTag(sigstoreOf(ctx), tag));
  }
  try {
    const s = await exportSigstoreTag(sigstoreOf(ctx), tag, n.digest);
    return { ...n, signedBy: `${n.signedBy} and ${fromSigstore(s).signedBy}`, sigstore: s };
  } catch (err) {
    if (!(err instanceof SigstoreError)) throw err;
    return n; // Notary alone signs it: no Sigstore signatures travel
  }
}

function notaryTag(ctx: TagContext, tag: string): SignedImage {
  const { refresh, notaryFailure, src } = ctx.repo;
  if (refresh === undefined) throw notaryFailure ?? new TypeError(`${src.gun}: no Notary trust data was fetched`);
  const signed = resolveExplained(refresh, tag, ctx.services.policy.decide(src.gun).roles);
  return { digest: signed.digest, length: signed.length, signedBy: `signed in ${signed.role}` };
}

function fromSigstore(s: SigstoreTag): SignedImage {
  return { digest: s.digest, signedBy: `Sigstore: ${[...new Set(s.signatures.map((v) => v.signer))].join(', ')}`, sigstore: s };
}

function sigstoreOf(ctx: TagContext): SigstoreRepository {
  const { src, sigstore } = ctx.repo;
  if (sigstore === undefined) throw new TypeError(`${src.gun}: the rule has no sigstore settings`);
  return { upstream: ctx.upstream, repository: src.repository, gun: src.gun, policy: sigstore, manifestMaxBytes: ctx.services.config.limits.manifestMaxBytes };
}

// Carrying verified trust data across an air gap: the two use cases behind `trustgate trust export`
// and `trustgate trust import` (import.ts). They return results and report as they go; the command
// prints.
//
// export  fetches each repository's complete trust data from a reachable Notary, verifies it (as a
//         pull would, plus every root version back to 1) and writes one checksummed bundle; with
//         images, each named tag's signed image too (images.ts). A repository whose rule verifies
//         Sigstore signatures carries each tag's signatures, verified as a pull verifies them, and the
//         keys and trusted root it verified with (export-images.ts, export-sigstore.ts).
// import  verifies the bundle again — root chain against the configured pins (or trust on first
//         use) and the stored root, every signature, hash, length, version and expiry (with the
//         upstream's offline grace) — with every file but the site's root and floors taken from the
//         bundle, and only if every repository verifies writes it all into the store, at once.

import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { memoryStores } from '../cache/stores.js';
import type { TrustMode } from '../config/sigstore.js';
import { ConfigError, TrustgateError } from '../errors.js';
import type { NotaryRemote } from '../notary/remote.js';
import type { RefreshResult } from '../notary/updater.js';
import { buildServices, type Services } from '../server/services.js';
import { acceptedUntil, ROOT } from '../trust/index.js';
import { BundleError, isDirectoryBundle, trustPath, writeBundle, type BundleRepository, type BundleSigstore } from './bundle.js';
import { exportImages, type ExportedImage, type ImageReport } from './export-images.js';
import { sigstoreMaterial } from './export-sigstore.js';
import type { Hooks } from './progress.js';
import { artifactPath } from './signatures.js';
import { collectRootChain } from './root-chain.js';
import { exportConfig, exportSources, type ExportSource, type ExportSourceOptions } from './sources.js';

export interface ExportRequest extends ExportSourceOptions {
  /** The bundle: a tar file, or a directory (ending with '/', or an existing directory). */
  readonly out: string;
}

export type ExportReport =
  | { readonly kind: 'repository'; readonly gun: string; readonly rootVersion: number; readonly targetsFiles: number; readonly validUntil: Date; readonly skipped: readonly string[] }
  | ImageReport;

export interface ExportResult {
  readonly kind: 'tar' | 'dir';
  readonly repositories: number;
  readonly trustFiles: number;
  readonly images: number;
}

/** What the bundle will hold, gathered repository by repository. */
interface Gathered {
  readonly files: Map<string, Buffer>;
  readonly repositories: BundleRepository[];
  readonly images: ExportedImage[];
  readonly sigstore: BundleSigstore[];
}

export async function exportBundle(refs: readonly string[], req: ExportRequest, hooks: Hooks<ExportReport> = {}): Promise<ExportResult> {
  const sources = exportSources(refs, req);
  const clock = hooks.clock ?? Date.now;
  // the Notary and registry clients and the policy, built as for serve; fetched trust data is held
  // in memory until the bundle is written
  const services = buildServices(exportConfig(sources, req), { stores: memoryStores(), clock });
  const dirBundle = await isDirectoryBundle(req.out);
  const staged = req.images && !dirBundle ? await stagingDir(req.out) : undefined;
  try {
    const g: Gathered = { files: new Map(), repositories: [], images: [], sigstore: [] };
    for (const [i, src] of sources.entries()) {
      hooks.progress?.repository(src.gun, i + 1, sources.length);
      await exportRepository(services, src, { req, base: staged ?? req.out, now: new Date(clock()), hooks }, g);
    }
    // fail loudly, never list an image the bundle does not hold
    for (const i of g.images) await checkImage(i);
    // a directory bundle written before: an artifact directory holds only what this export lists
    if (dirBundle) for (const i of g.images) for (const a of i.image.signatures ?? []) await rm(join(req.out, artifactPath(i.image.gun, a.tag)), { recursive: true, force: true });
    const images = g.images.map((i) => i.image);
    const kind = await writeBundle(req.out, { repositories: g.repositories, files: g.files, images, sigstore: g.sigstore, ...(staged ? { stagedImages: staged } : {}) });
    const trustFiles = [...g.files.keys()].filter((p) => p.startsWith('trust/')).length;
    return { kind, repositories: g.repositories.length, trustFiles, images: images.length };
  } finally {
    await services.close();
    if (staged) await rm(staged, { recursive: true, force: true });
  }
}

interface ExportRun {
  readonly req: ExportRequest;
  /** Where images are written (the directory bundle, or a tar bundle's staging directory). */
  readonly base: string;
  readonly now: Date;
  readonly hooks: Hooks<ExportReport>;
}

/** One repository: its Notary trust data and/or Sigstore material, as its policy rule verifies, then its images. */
async function exportRepository(services: Services, src: ExportSource, run: ExportRun, g: Gathered): Promise<void> {
  const decision = services.policy.decide(src.gun);
  const mode: TrustMode = decision.action === 'verify' ? (decision.trust ?? 'notary') : 'notary';
  const sigstore = mode === 'notary' ? undefined : decision.sigstore;
  if (sigstore && !run.req.images) {
    throw new ConfigError(`${src.gun}: its policy rule verifies Sigstore signatures, which travel with the images they sign: export it with --images`);
  }
  let refresh: RefreshResult | undefined;
  let notaryFailure: TrustgateError | undefined;
  if (mode !== 'sigstore') {
    try {
      refresh = await fetchRepository(services, src, g.files, run.now);
    } catch (err) {
      // trust: any — a repository Notary cannot vouch for may still be signed with Sigstore
      if (mode !== 'any' || !(err instanceof TrustgateError)) throw err;
      notaryFailure = err;
    }
  }
  if (refresh) {
    const rootVersion = refresh.set.root.root.version;
    g.repositories.push({ gun: src.gun, rootVersion });
    const skipped = [...refresh.skipped.keys()];
    run.hooks.report?.({ kind: 'repository', gun: src.gun, rootVersion, targetsFiles: refresh.set.targetsFiles.size, validUntil: acceptedUntil(refresh.set), skipped });
  }
  if (sigstore) g.sigstore.push(await sigstoreMaterial(src.gun, sigstore, g.files));
  if (run.req.images) g.images.push(...(await exportImages(services, { src, mode, refresh, notaryFailure, sigstore }, run.base, g.files, run.hooks)));
}

/** A tar bundle's images are staged beside it (a fresh, unpredictable directory), then streamed in. */
async function stagingDir(out: string): Promise<string> {
  await mkdir(dirname(out), { recursive: true });
  return mkdtemp(`${out}.images-`);
}

/** One repository's complete, verified trust data from Notary into `files`. */
async function fetchRepository(services: Services, src: ExportSource, files: Map<string, Buffer>, now: Date): Promise<RefreshResult> {
  const fetched = services.stores.trustStore;
  const refresh = await services.notary.updaterFor(src.registry).refresh(src.gun);
  const remote = services.notary.remotes.get(src.registry) as NotaryRemote;
  const { bytes, root } = refresh.set.root;
  const rootMax = services.config.trust.rootMaxBytes;
  const read = (v: number) => (v === root.version ? Promise.resolve(bytes) : remote.fetch(src.gun, `${v}.${ROOT}`, rootMax));
  const roots = await collectRootChain(src.gun, bytes, root.version, read, now);
  for (const [v, b] of roots) files.set(trustPath(src.gun, `${v}.${ROOT}`), b);
  // everything the refresh stored: the verified files, and delegations it left out (expired or
  // under-signed) so the far side leaves them out again for the same reason
  for (const role of (await fetched.getVersions(src.gun)).keys()) {
    const b = await fetched.getMetadata(src.gun, role);
    if (b) files.set(trustPath(src.gun, role), b);
  }
  return refresh;
}

/** Every file the export wrote for an image is there, at its size: a bundle never lists a missing image. */
async function checkImage({ dir, files }: ExportedImage): Promise<void> {
  for (const [name, size] of files) {
    const s = await stat(join(dir, name)).catch(() => undefined);
    if (!s?.isFile() || s.size !== size) throw new BundleError(`${dir}/${name} is missing or was changed after it was written: the export is incomplete`);
  }
}

export { importBundle, type ImportedRepository, type ImportResult, type ImportSite } from './import.js';

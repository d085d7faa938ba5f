// Carrying verified trust data across an air gap: the two use cases behind `trustgate trust export`
// and `trustgate trust import` (import.ts). They return results and report as they go; the command
// prints.
//
// export  fetches each repository's complete trust data from a reachable Notary, verifies it (as a
//         pull would, plus every root version back to 1) and writes one checksummed bundle; with
//         images, each named tag's signed image too (images.ts).
// import  verifies the bundle again — root chain against the configured pins (or trust on first
//         use) and the stored root, every signature, hash, length, version and expiry (with the
//         upstream's offline grace) — with every file but the site's root and floors taken from the
//         bundle, and only if every repository verifies writes it all into the store, at once.

import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { memoryStores } from '../cache/stores.js';
import type { NotaryRemote } from '../notary/remote.js';
import { resolveExplained, type RefreshResult } from '../notary/updater.js';
import type { RegistryUpstream } from '../registry/upstream.js';
import { buildServices, type Services } from '../server/services.js';
import { acceptedUntil, ROOT } from '../trust/index.js';
import { BundleError, isDirectoryBundle, trustPath, writeBundle, type BundleImage, type BundleRepository } from './bundle.js';
import { ImageExporter, type ImageExport } from './images.js';
import type { Hooks } from './progress.js';
import { collectRootChain } from './root-chain.js';
import { exportConfig, exportSources, type ExportSource, type ExportSourceOptions } from './sources.js';

export interface ExportRequest extends ExportSourceOptions {
  /** The bundle: a tar file, or a directory (ending with '/', or an existing directory). */
  readonly out: string;
}

export type ExportReport =
  | { readonly kind: 'repository'; readonly gun: string; readonly rootVersion: number; readonly targetsFiles: number; readonly validUntil: Date; readonly skipped: readonly string[] }
  | ({ readonly kind: 'image'; readonly gun: string; readonly role: string } & ImageExport);

export interface ExportResult {
  readonly kind: 'tar' | 'dir';
  readonly repositories: number;
  readonly trustFiles: number;
  readonly images: number;
}

export async function exportBundle(refs: readonly string[], req: ExportRequest, hooks: Hooks<ExportReport> = {}): Promise<ExportResult> {
  const sources = exportSources(refs, req);
  const clock = hooks.clock ?? Date.now;
  // the Notary and registry clients and the policy, built as for serve; fetched trust data is held
  // in memory until the bundle is written
  const services = buildServices(exportConfig(sources, req), { stores: memoryStores(), clock });
  const staged = req.images && !(await isDirectoryBundle(req.out)) ? await stagingDir(req.out) : undefined;
  try {
    const files = new Map<string, Buffer>();
    const repositories: BundleRepository[] = [];
    const images: ExportedImage[] = [];
    for (const [i, src] of sources.entries()) {
      hooks.progress?.repository(src.gun, i + 1, sources.length);
      const refresh = await fetchRepository(services, src, files, new Date(clock()));
      const rootVersion = refresh.set.root.root.version;
      repositories.push({ gun: src.gun, rootVersion });
      const skipped = [...refresh.skipped.keys()];
      hooks.report?.({ kind: 'repository', gun: src.gun, rootVersion, targetsFiles: refresh.set.targetsFiles.size, validUntil: acceptedUntil(refresh.set), skipped });
      if (req.images) images.push(...(await exportImages(services, src, refresh, staged ?? req.out, hooks)));
    }
    // fail loudly, never list an image the bundle does not hold
    for (const i of images) await checkImage(i);
    const listed = images.map((i) => i.image);
    const kind = await writeBundle(req.out, { repositories, files, images: listed, ...(staged ? { stagedImages: staged } : {}) });
    return { kind, repositories: repositories.length, trustFiles: files.size, images: images.length };
  } finally {
    await services.close();
    if (staged) await rm(staged, { recursive: true, force: true });
  }
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

interface ExportedImage {
  readonly image: BundleImage;
  /** Where it was written, and what. */
  readonly dir: string;
  readonly files: ReadonlyMap<string, number>;
}

/** Each named tag's signed image into images/<GUN>/_tags/<tag>/ under `base`. */
async function exportImages(services: Services, src: ExportSource, refresh: RefreshResult, base: string, hooks: Hooks<ExportReport>): Promise<ExportedImage[]> {
  const tags = join('images', src.gun, '_tags');
  const upstream = services.upstreams.get(src.registry) as RegistryUpstream;
  const t = services.config.timeouts;
  const timeouts = { connectTimeoutMs: t.connectMs, headersTimeoutMs: t.headersMs, bodyIdleTimeoutMs: t.bodyIdleMs };
  const exporter = new ImageExporter(upstream, src.repository, join(base, tags), timeouts, hooks.progress);
  const roles = services.policy.decide(src.gun).roles;
  const out: ExportedImage[] = [];
  try {
    for (const tag of src.tags) {
      const signed = resolveExplained(refresh, tag, roles);
      const image = await exporter.exportTag(tag, signed.digest, signed.length);
      out.push({ image: { gun: src.gun, tag, digest: signed.digest, path: `${tags}/${tag}` }, dir: join(base, tags, tag), files: image.files });
      hooks.report?.({ kind: 'image', gun: src.gun, role: signed.role, ...image });
    }
  } finally {
    await exporter.close();
  }
  return out;
}

/** Every file the export wrote for an image is there, at its size: a bundle never lists a missing image. */
async function checkImage({ dir, files }: ExportedImage): Promise<void> {
  for (const [name, size] of files) {
    const s = await stat(join(dir, name)).catch(() => undefined);
    if (!s?.isFile() || s.size !== size) throw new BundleError(`${dir}/${name} is missing or was changed after it was written: the export is incomplete`);
  }
}

export { importBundle, type ImportedRepository, type ImportResult, type ImportSite } from './import.js';

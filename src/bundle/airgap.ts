// Carrying verified trust data across an air gap: the two use cases behind `trustgate trust export`
// and `trustgate trust import`. They return results and report as they go; the command prints.
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
import { isAtomicStore, StagingTrustStore } from '../cache/staging-store.js';
import { MemoryTrustStore, type TrustStore } from '../cache/trust-store.js';
import type { Config, UpstreamConfig } from '../config/config.js';
import { ConfigError, TrustgateError } from '../errors.js';
import { answer } from '../notary/offline.js';
import { NotaryRemote, type MetadataFetcher } from '../notary/remote.js';
import { resolveExplained, TrustUpdater, type RefreshResult } from '../notary/updater.js';
import { Policy } from '../policy/policy.js';
import { RegistryUpstream } from '../registry/upstream.js';
import { acceptedUntil, ROOT } from '../trust/index.js';
import { BundleError, isDirectoryBundle, trustPath, writeBundle, type Bundle, type BundleImage, type BundleRepository } from './bundle.js';
import { ImageExporter, type ImageExport } from './images.js';
import { NO_PROGRESS, type Progress } from './progress.js';
import { collectRootChain } from './root-chain.js';
import { exportSources, exportTimeouts, notaryOptions, registryUpstreamConfig, type ExportSource, type ExportSourceOptions } from './sources.js';

export interface ExportRequest extends ExportSourceOptions {
  /** The bundle: a tar file, or a directory (ending with '/', or an existing directory). */
  readonly out: string;
}

export type ExportReport =
  | { readonly kind: 'repository'; readonly gun: string; readonly rootVersion: number; readonly targetsFiles: number; readonly validUntil: Date; readonly skipped: readonly string[] }
  | ({ readonly kind: 'image'; readonly gun: string; readonly role: string } & ImageExport);

export interface Hooks<R> {
  readonly report?: (r: R) => void;
  readonly progress?: Progress;
  readonly clock?: () => Date;
}

export interface ExportResult {
  readonly kind: 'tar' | 'dir';
  readonly repositories: number;
  readonly trustFiles: number;
  readonly images: number;
}

export async function exportBundle(refs: readonly string[], req: ExportRequest, hooks: Hooks<ExportReport> = {}): Promise<ExportResult> {
  const progress = hooks.progress ?? NO_PROGRESS;
  const clock = hooks.clock ?? (() => new Date());
  const sources = exportSources(refs, req);
  const asDir = await isDirectoryBundle(req.out);
  // a tar bundle's images are staged beside it (a fresh, unpredictable directory), then streamed in
  let staged: string | undefined;
  if (req.images && !asDir) {
    await mkdir(dirname(req.out), { recursive: true });
    staged = await mkdtemp(`${req.out}.images-`);
  }
  try {
    const files = new Map<string, Buffer>();
    const repositories: BundleRepository[] = [];
    const images: ExportedImage[] = [];
    for (const [i, src] of sources.entries()) {
      progress.repository(src.gun, i + 1, sources.length);
      const refresh = await fetchRepository(src, req.config, files, clock);
      repositories.push({ gun: src.gun, rootVersion: refresh.set.root.root.version });
      hooks.report?.({
        kind: 'repository',
        gun: src.gun,
        rootVersion: refresh.set.root.root.version,
        targetsFiles: refresh.set.targetsFiles.size,
        validUntil: acceptedUntil(refresh.set),
        skipped: [...refresh.skipped.keys()],
      });
      if (req.images) images.push(...(await exportImages(src, refresh, staged ?? req.out, req, hooks)));
    }
    // fail loudly, never list an image the bundle does not hold
    for (const i of images) await checkImage(i);
    const listed = images.map((i) => i.image);
    const kind = await writeBundle(req.out, { repositories, files, images: listed, ...(staged ? { stagedImages: staged } : {}) });
    return { kind, repositories: repositories.length, trustFiles: files.size, images: images.length };
  } finally {
    if (staged) await rm(staged, { recursive: true, force: true });
  }
}

/** One repository's complete, verified trust data from Notary into `files`. */
async function fetchRepository(src: ExportSource, config: Config | undefined, files: Map<string, Buffer>, clock: () => Date): Promise<RefreshResult> {
  const remote = new NotaryRemote(src.notaryUrl, notaryOptions(src, config));
  const rootMaxBytes = config?.trust.rootMaxBytes ?? 1 << 20;
  try {
    const fetched = new MemoryTrustStore();
    const refresh = await new TrustUpdater({ fetcher: remote, store: fetched, pinning: src.decision.pinning, clock, limits: { rootMaxBytes } }).refresh(src.gun);
    const { bytes, root } = refresh.set.root;
    const read = (v: number) => (v === root.version ? Promise.resolve(bytes) : remote.fetch(src.gun, `${v}.${ROOT}`, rootMaxBytes));
    for (const [v, b] of await collectRootChain(src.gun, bytes, root.version, read, clock())) files.set(trustPath(src.gun, `${v}.${ROOT}`), b);
    // everything the refresh stored: the verified files, and delegations it left out (expired or
    // under-signed) so the far side leaves them out again for the same reason
    for (const role of (await fetched.getVersions(src.gun)).keys()) {
      const b = await fetched.getMetadata(src.gun, role);
      if (b) files.set(trustPath(src.gun, role), b);
    }
    return refresh;
  } finally {
    await remote.close();
  }
}

interface ExportedImage {
  readonly image: BundleImage;
  /** Where it was written, and what. */
  readonly dir: string;
  readonly files: ReadonlyMap<string, number>;
}

/** Each named tag's signed image into images/<GUN>/_tags/<tag>/ under `base`. */
async function exportImages(src: ExportSource, refresh: RefreshResult, base: string, req: ExportRequest, hooks: Hooks<ExportReport>): Promise<ExportedImage[]> {
  const tags = join('images', src.gun, '_tags');
  const timeouts = exportTimeouts(req.config);
  const upstream = new RegistryUpstream(registryUpstreamConfig(src, req.registry), { ...timeouts, totalTimeoutMs: timeouts.headersTimeoutMs + timeouts.bodyIdleTimeoutMs });
  const exporter = new ImageExporter(upstream, src.repository, join(base, tags), timeouts, hooks.progress);
  const out: ExportedImage[] = [];
  try {
    for (const tag of src.tags) {
      const signed = resolveExplained(refresh, tag, src.decision.roles);
      const image = await exporter.exportTag(tag, signed.digest, signed.length);
      out.push({ image: { gun: src.gun, tag, digest: signed.digest, path: `${tags}/${tag}` }, dir: join(base, tags, tag), files: image.files });
      hooks.report?.({ kind: 'image', gun: src.gun, role: signed.role, ...image });
    }
  } finally {
    await exporter.close();
    await upstream.close();
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

// ---- import -------------------------------------------------------------------------------

export interface ImportSite {
  readonly config: Config;
  /** The configured store: Redis, or the trust.bundles directory. */
  readonly store: TrustStore;
}

export interface ImportedRepository {
  readonly gun: string;
  readonly rootVersion: number;
  readonly acceptedUntil: Date;
  /** Accepted under the upstream's offline grace (expired timestamp/snapshot). */
  readonly underGrace: boolean;
}

export interface ImportResult {
  readonly verified: readonly ImportedRepository[];
  /** Repositories that did not verify, and why: when any did, nothing was written. */
  readonly refused: readonly { readonly gun: string; readonly error: TrustgateError }[];
}

/**
 * Verify every repository of `bundle` for `site`, then write them all, or nothing. With the directory
 * store, the whole import holds its lock: imports into one directory run one after another.
 */
export async function importBundle(bundle: Bundle, site: ImportSite, hooks: Hooks<never> = {}): Promise<ImportResult> {
  const run = () => verifyAndCommit(bundle, site, hooks);
  return isAtomicStore(site.store) ? site.store.exclusive(run) : run();
}

async function verifyAndCommit(bundle: Bundle, site: ImportSite, hooks: Hooks<never>): Promise<ImportResult> {
  // only the site's root (previously trusted) and floors are read from the store: every other file
  // must come from the bundle, so an incomplete bundle is never completed from what the site holds
  const staging = new StagingTrustStore(site.store, { readThrough: (role) => role === ROOT });
  const policy = new Policy(site.config.policy, site.config.trust.tofu);
  const progress = hooks.progress ?? NO_PROGRESS;
  const repos = bundle.index.repositories;
  const verified: ImportedRepository[] = [];
  const refused: { gun: string; error: TrustgateError }[] = [];
  for (const [i, repo] of repos.entries()) {
    progress.repository(repo.gun, i + 1, repos.length);
    try {
      verified.push(await verifyRepository(bundle, repo, { site, policy, staging, progress, clock: hooks.clock ?? (() => new Date()) }));
    } catch (err) {
      if (!(err instanceof TrustgateError)) throw err; // a fault, not a verdict
      refused.push({ gun: repo.gun, error: err });
    }
  }
  if (refused.length === 0) await staging.commit();
  return { verified, refused };
}

interface VerifyContext {
  readonly site: ImportSite;
  readonly policy: Policy;
  readonly staging: StagingTrustStore;
  readonly progress: Progress;
  readonly clock: () => Date;
}

async function verifyRepository(bundle: Bundle, repo: BundleRepository, ctx: VerifyContext): Promise<ImportedRepository> {
  const { gun } = repo;
  const upstream = upstreamFor(ctx.site.config, gun);
  const fetcher = new BundleFetcher(bundle, gun, ctx.progress);
  const updater = new TrustUpdater({
    fetcher,
    store: ctx.staging,
    pinning: ctx.policy.decide(gun).pinning,
    maxStalenessMs: upstream.maxStalenessMs,
    limits: { rootMaxBytes: ctx.site.config.trust.rootMaxBytes },
    clock: ctx.clock,
  });
  const refresh = await updater.refresh(gun);
  const { bytes, root } = refresh.set.root;
  if (refresh.timestampSource !== 'remote') throw new BundleError(`${gun}: the bundle's timestamp was not used`);
  if (repo.rootVersion !== root.version) throw new BundleError(`${gun}: bundle.json names root version ${repo.rootVersion}, the verified root is version ${root.version}`);
  const roots = await collectRootChain(gun, bytes, root.version, (v) => bundle.read(trustPath(gun, `${v}.${ROOT}`)), ctx.clock());
  // the site may already hold this root, so the update need not have read the bundle's: check it
  if (!(await fetcher.fetch(gun, ROOT, ctx.site.config.trust.rootMaxBytes)).equals(bytes)) {
    throw new BundleError(`${gun}: the bundle's root.json is not its root version ${root.version}`);
  }
  for (const [v, b] of roots) await ctx.staging.putMetadata(gun, `${v}.${ROOT}`, b, v);
  return { gun, rootVersion: root.version, acceptedUntil: acceptedUntil(refresh.set), underGrace: refresh.set.stale };
}

function upstreamFor(config: Config, gun: string): UpstreamConfig {
  const u = config.upstreams.find((x) => gun.startsWith(`${x.name}/`));
  if (!u) throw new ConfigError(`no configured upstream serves ${gun}`);
  return u;
}

/** The updater's requests answered from one repository of a bundle. */
class BundleFetcher implements MetadataFetcher {
  readonly origin = 'the trust bundle';
  constructor(
    private readonly bundle: Bundle,
    private readonly gun: string,
    private readonly progress: Progress,
  ) {}

  /** A file the update needs that the bundle lacks is an incomplete bundle, never an outage. */
  async fetch(gun: string, name: string, maxBytes: number): Promise<Buffer> {
    const b = gun === this.gun ? await answer((role) => this.bundle.read(trustPath(gun, role)), name, maxBytes) : undefined;
    if (!b) throw new BundleError(`the bundle has no ${name} for ${gun}: it is incomplete`);
    this.progress.bytes(b.length);
    this.progress.item();
    return b;
  }
}

// `trustgate trust export` and `trustgate trust import`: carry verified trust data across an air gap.
//
// export  fetches each repository's complete trust data from a reachable Notary, verifies it (as a
//         pull would, plus every root version back to 1) and writes one checksummed bundle.
// import  verifies the bundle again — root chain against the configured pins (or trust on first
//         use) and the stored root, every signature, hash, length, version and expiry (with the
//         upstream's offline grace) — and only if every repository verifies, loads it all into the
//         configured store (Redis, or the `trust.bundles` directory). Nothing is written otherwise.

import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BundleError, isDirectoryBundle, openBundle, trustPath, writeBundle, type Bundle, type BundleImage, type BundleRepository } from '../bundle/bundle.js';
import { ImageExporter } from '../bundle/images.js';
import { DirectoryTrustStore } from '../cache/directory-store.js';
import { openRedis, RedisTrustStore } from '../cache/redis.js';
import { MemoryTrustStore, type TrustStore } from '../cache/trust-store.js';
import { loadConfig, type Config, type UpstreamConfig } from '../config/config.js';
import { ConfigError, RootRotationError, TrustgateError } from '../errors.js';
import { answer } from '../notary/offline.js';
import { NotaryRemote, type MetadataFetcher } from '../notary/remote.js';
import { resolveExplained, TrustUpdater, verifyRootChain, type RefreshResult } from '../notary/updater.js';
import { Policy, type Decision } from '../policy/policy.js';
import { RegistryUpstream } from '../registry/upstream.js';
import { gunOf, parseImageReference } from '../registry/reference.js';
import { acceptedUntil, DOCKER_ROLES, NO_PINNING, ROOT, type TrustPinning } from '../trust/index.js';
import { defaultNotaryUrl, type Output } from './check.js';

export interface ExportOptions {
  readonly out: string;
  readonly config?: string;
  readonly notary?: string;
  readonly ca?: string;
  /** Also export the signed images of the named tags (manifests and blobs, as OCI image layouts). */
  readonly images?: boolean;
  /** The registry to export images from (default: the configured upstream's, else the registry's own). */
  readonly registry?: string;
}

const ROOT_MAX = 1 << 20;

/** The registry API URL for a registry host: Docker Hub's is registry-1.docker.io. */
function defaultRegistryUrl(registry: string): string {
  return registry === 'docker.io' ? 'https://registry-1.docker.io' : `https://${registry}`;
}

interface Source {
  readonly gun: string;
  readonly registry: string;
  readonly repository: string;
  readonly tags: string[];
  readonly notaryUrl: string;
  readonly ca: string | undefined;
  readonly upstream: UpstreamConfig | undefined;
  readonly decision: Decision;
}

/** Repositories to export (each once, with the tags named for it), from the configuration or the options. */
async function sourcesFor(refs: readonly string[], config: Config | undefined, opts: ExportOptions): Promise<Source[]> {
  const policy = config ? new Policy(config.policy, config.trust.tofu) : undefined;
  const ca = opts.ca ? await readFile(opts.ca, 'utf8') : undefined;
  const out = new Map<string, Source>();
  for (const ref of refs) {
    const parsed = parseImageReference(ref);
    if (opts.images && parsed.digest) throw new ConfigError(`${ref}: name a tag (images are exported for signed tags)`);
    const gun = gunOf(parsed);
    let source = out.get(gun);
    if (!source) {
      const upstream = config?.upstreams.find((u) => u.name === parsed.registry);
      const notaryUrl = opts.notary ?? (upstream && upstream.notary !== 'offline' ? upstream.notary : undefined) ?? defaultNotaryUrl(parsed.registry);
      const decision: Decision = policy?.decide(gun) ?? { action: 'verify', roles: DOCKER_ROLES, pinning: NO_PINNING, rule: '(none)' };
      if (decision.action === 'deny') throw new ConfigError(`${gun} is denied by the configured policy`);
      source = { gun, registry: parsed.registry, repository: parsed.repository, tags: [], notaryUrl, ca: ca ?? upstream?.caPem, upstream, decision };
      out.set(gun, source);
    }
    if (parsed.tag && !source.tags.includes(parsed.tag)) source.tags.push(parsed.tag);
  }
  return [...out.values()];
}

/** The registry client for a source's images. */
function registryFor(src: Source, opts: ExportOptions): RegistryUpstream {
  const u = src.upstream;
  const config: UpstreamConfig = {
    name: src.registry,
    registry: (opts.registry ?? u?.registry ?? defaultRegistryUrl(src.registry)).replace(/\/+$/, ''),
    notary: src.notaryUrl,
    maxStalenessMs: 0,
    caPem: src.ca,
    default: false,
    credentials: u?.credentials,
    notaryCredentials: u?.notaryCredentials,
    allowedRealms: u?.allowedRealms ?? [],
    blobs: 'stream',
  };
  return new RegistryUpstream(config, EXPORT_TIMEOUTS);
}

const EXPORT_TIMEOUTS = { connectTimeoutMs: 10_000, headersTimeoutMs: 60_000, bodyIdleTimeoutMs: 60_000, totalTimeoutMs: 120_000 };

export async function runExport(refs: readonly string[], opts: ExportOptions, io: Output): Promise<number> {
  const asDir = await isDirectoryBundle(opts.out);
  // a tar bundle's images are staged beside it, then streamed into the archive
  const imagesBase = asDir ? opts.out : `${opts.out}.images.partial`;
  try {
    const config = opts.config ? await loadConfig(opts.config) : undefined;
    const files = new Map<string, Buffer>();
    const repositories: BundleRepository[] = [];
    const images: BundleImage[] = [];
    for (const src of await sourcesFor(refs, config, opts)) {
      const remote = new NotaryRemote(src.notaryUrl, { ca: src.ca, credentials: src.upstream?.notaryCredentials, allowedRealms: src.upstream?.allowedRealms });
      try {
        const fetched = new MemoryTrustStore();
        const refresh = await new TrustUpdater({ fetcher: remote, store: fetched, pinning: src.decision.pinning }).refresh(src.gun);
        const version = refresh.set.root.root.version;
        const roots = new Map<number, Buffer>([[version, refresh.set.root.bytes]]);
        for (let v = 1; v < version; v++) {
          const b = await remote.fetch(src.gun, `${v}.root`, ROOT_MAX);
          if (!b) throw new BundleError(`${src.gun}: Notary has no root version ${v}`);
          roots.set(v, b);
        }
        verifyRootChain(src.gun, roots, refresh.set.root.bytes, new Date());
        for (const [v, b] of roots) files.set(trustPath(src.gun, `${v}.root`), b);
        // everything the refresh stored: the verified files, and delegations it left out (expired or
        // under-signed) so the far side leaves them out again for the same reason
        for (const role of (await fetched.getVersions(src.gun)).keys()) {
          const b = await fetched.getMetadata(src.gun, role);
          if (b) files.set(trustPath(src.gun, role), b);
        }
        repositories.push({ gun: src.gun, rootVersion: version });
        const left = refresh.skipped.size > 0 ? `; left out as Notary clients do: ${[...refresh.skipped.keys()].join(', ')}` : '';
        io.out(`${src.gun}: root v${version}, ${refresh.set.targetsFiles.size} targets file(s), trust data valid until ${expiryOf(refresh)}${left}`);
        if (opts.images) images.push(...(await exportImages(src, refresh, imagesBase, opts, io)));
      } finally {
        await remote.close();
      }
    }
    const kind = await writeBundle(opts.out, { repositories, files, images, ...(asDir ? {} : { stagedImages: imagesBase }) });
    const what = images.length > 0 ? `, ${images.length} image(s)` : '';
    io.out(`wrote ${kind === 'tar' ? 'bundle' : 'bundle directory'} ${opts.out} (${repositories.length} repositories, ${files.size} trust files${what})`);
    return 0;
  } catch (err) {
    return failed(io, 'export', err);
  } finally {
    if (!asDir) await rm(imagesBase, { recursive: true, force: true });
  }
}

/** Each named tag's signed image into images/<GUN>/<tag>/ under `base`, checked against the trust data. */
async function exportImages(src: Source, refresh: RefreshResult, base: string, opts: ExportOptions, io: Output): Promise<BundleImage[]> {
  const layout = join('images', src.gun);
  const upstream = registryFor(src, opts);
  const exporter = new ImageExporter(upstream, src.repository, join(base, layout), EXPORT_TIMEOUTS);
  const out: BundleImage[] = [];
  try {
    for (const tag of src.tags) {
      const signed = resolveExplained(refresh, tag, src.decision.roles);
      const r = await exporter.exportTag(tag, signed.digest, signed.length);
      out.push({ gun: src.gun, tag, digest: signed.digest, path: `${layout}/${tag}` });
      io.out(`${src.gun}:${tag}: image ${signed.digest} (signed in ${signed.role}): ${r.manifests} manifest(s), ${r.blobs} blob(s), ${(r.bytes / 1048576).toFixed(1)} MiB`);
    }
  } finally {
    await exporter.close();
    await upstream.close();
  }
  return out;
}

/** Report a failure: exit 1 for a verdict (a TrustgateError: its reason and code), 2 for a fault. */
function failed(io: Output, verb: string, err: unknown): number {
  if (err instanceof TrustgateError) {
    io.err(`${verb} failed: ${err.message} [${err.code}]`);
    return 1;
  }
  io.err(`${verb} failed: ${(err as Error).message}`);
  return 2;
}

function expiryOf(refresh: RefreshResult): string {
  return acceptedUntil(refresh.set).toISOString();
}

/** The updater's requests answered from one repository of a bundle. */
class BundleFetcher implements MetadataFetcher {
  readonly origin = 'the trust bundle';
  constructor(
    private readonly bundle: Bundle,
    private readonly gun: string,
  ) {}

  /** A file the update needs that the bundle lacks is an incomplete bundle, never an outage. */
  async fetch(gun: string, name: string, maxBytes: number): Promise<Buffer | undefined> {
    const b = gun === this.gun ? await answer((role) => this.bundle.read(trustPath(gun, role)), name, maxBytes) : undefined;
    if (!b) throw new BundleError(`the bundle has no ${name} for ${gun}: it is incomplete`);
    return b;
  }
}

/** Writes held back until every repository verified; reads see them over the real store. */
class StagingTrustStore implements TrustStore {
  private readonly staged = new MemoryTrustStore();
  private readonly order: [string, string, Buffer, number][] = [];

  constructor(private readonly target: TrustStore) {}

  async getMetadata(gun: string, role: string): Promise<Buffer | undefined> {
    return (await this.staged.getMetadata(gun, role)) ?? this.target.getMetadata(gun, role);
  }

  async putMetadata(gun: string, role: string, bytes: Buffer, version: number): Promise<void> {
    const floor = (await this.getVersions(gun)).get(role) ?? 0;
    if (version < floor) return;
    await this.staged.putMetadata(gun, role, bytes, version);
    this.order.push([gun, role, bytes, version]);
  }

  async getVersions(gun: string): Promise<Map<string, number>> {
    const v = await this.target.getVersions(gun);
    for (const [role, n] of await this.staged.getVersions(gun)) if ((v.get(role) ?? 0) < n) v.set(role, n);
    return v;
  }

  async commit(): Promise<void> {
    for (const [gun, role, bytes, version] of this.order) await this.target.putMetadata(gun, role, bytes, version);
  }

  async close(): Promise<void> {}
}

async function targetStore(config: Config): Promise<{ store: TrustStore; where: string; close(): Promise<void> }> {
  if (config.redis) {
    const redis = await openRedis(config.redis).catch((cause: unknown) => {
      throw new ConfigError(`Redis is not reachable: ${(cause as Error).message}`, { cause });
    });
    return { store: new RedisTrustStore(redis, config.redisPrefix), where: 'Redis', close: async () => void (await redis.quit()) };
  }
  if (config.trust.bundlesDir) return { store: new DirectoryTrustStore(config.trust.bundlesDir), where: config.trust.bundlesDir, close: async () => {} };
  throw new ConfigError('import needs a store: configure redis, or trust.bundles (a directory) for the in-process cache');
}

function upstreamFor(config: Config, gun: string): UpstreamConfig {
  const u = config.upstreams.find((x) => gun.startsWith(`${x.name}/`));
  if (!u) throw new ConfigError(`no configured upstream serves ${gun}`);
  return u;
}

export async function runImport(source: string, opts: { config?: string }, io: Output): Promise<number> {
  let close: (() => Promise<void>) | undefined;
  try {
    const config = await loadConfig(opts.config);
    const bundle = await openBundle(source);
    const target = await targetStore(config);
    close = target.close;
    const staging = new StagingTrustStore(target.store);
    const policy = new Policy(config.policy, config.trust.tofu);
    const failures: string[] = [];
    const summaries: string[] = [];
    for (const repo of bundle.index.repositories) {
      try {
        const upstream = upstreamFor(config, repo.gun);
        const pinning: TrustPinning = policy.decide(repo.gun).pinning;
        const fetcher = new BundleFetcher(bundle, repo.gun);
        const updater = new TrustUpdater({ fetcher, store: staging, pinning, maxStalenessMs: upstream.maxStalenessMs, limits: { rootMaxBytes: config.trust.rootMaxBytes } });
        const refresh = await updater.refresh(repo.gun);
        const version = refresh.set.root.root.version;
        if (refresh.timestampSource !== 'remote') throw new BundleError(`${repo.gun}: the bundle's timestamp was not used`);
        if (repo.rootVersion !== version) {
          throw new BundleError(`${repo.gun}: bundle.json names root version ${repo.rootVersion}, the verified root is version ${version}`);
        }
        // every root version 1…N, each signing the next: what a client walking the rotations checks
        const rootFiles = Object.keys(bundle.index.files).filter((p) => /\/_tuf\/\d+\.root\.json$/.test(p) && p.startsWith(`trust/${repo.gun}/_tuf/`)).length;
        if (rootFiles < version) throw new RootRotationError(ROOT, `${repo.gun}: the bundle lacks root versions (has ${rootFiles} of 1…${version})`);
        const roots = new Map<number, Buffer>();
        for (let v = 1; v <= version; v++) {
          const b = await bundle.read(trustPath(repo.gun, `${v}.root`));
          if (!b) throw new RootRotationError(ROOT, `${repo.gun}: the bundle lacks root version ${v}`);
          roots.set(v, b);
        }
        verifyRootChain(repo.gun, roots, refresh.set.root.bytes, new Date());
        for (const [v, b] of roots) await staging.putMetadata(repo.gun, `${v}.root`, b, v);
        const stale = refresh.set.stale ? ' — UNDER OFFLINE GRACE (expired timestamp/snapshot accepted)' : '';
        summaries.push(`${repo.gun}: verified (root v${version}); accepted until ${expiryOf(refresh)}${stale}`);
      } catch (err) {
        if (!(err instanceof TrustgateError)) throw err; // reported below: a fault, not a verdict
        failures.push(`${repo.gun}: ${err.message} [${err.code}]`);
      }
    }
    if (failures.length > 0) {
      for (const f of failures) io.err(`refused: ${f}`);
      io.err(`the bundle was not imported: nothing was written to ${target.where}`);
      return 1;
    }
    try {
      await staging.commit();
    } catch (err) {
      io.err(`import failed while writing to ${target.where}: ${(err as Error).message}`);
      io.err('part of the bundle may have been written (it is all verified data, and pulls fail closed on a partial set): fix the cause and import again');
      return 2;
    }
    for (const s of summaries) io.out(s);
    io.out(`imported ${bundle.index.repositories.length} repositories into ${target.where}`);
    return 0;
  } catch (err) {
    return failed(io, 'import', err);
  } finally {
    await close?.();
  }
}

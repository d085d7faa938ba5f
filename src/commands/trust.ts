// `trustgate trust export` and `trustgate trust import`: carry verified trust data across an air gap.
//
// export  fetches each repository's complete trust data from a reachable Notary, verifies it (as a
//         pull would, plus every root version back to 1) and writes one checksummed bundle.
// import  verifies the bundle again — root chain against the configured pins (or trust on first
//         use) and the stored root, every signature, hash, length, version and expiry (with the
//         upstream's offline grace) — and only if every repository verifies, loads it all into the
//         configured store (Redis, or the `trust.bundles` directory). Nothing is written otherwise.

import { readFile } from 'node:fs/promises';
import { BundleError, openBundle, trustPath, writeBundle, type Bundle, type BundleRepository } from '../bundle/bundle.js';
import { DirectoryTrustStore } from '../cache/directory-store.js';
import { openRedis, RedisTrustStore } from '../cache/redis.js';
import { MemoryTrustStore, type TrustStore } from '../cache/trust-store.js';
import { loadConfig, type Config, type UpstreamConfig } from '../config/config.js';
import { ConfigError, TrustgateError } from '../errors.js';
import { answer } from '../notary/offline.js';
import { NotaryRemote, type MetadataFetcher } from '../notary/remote.js';
import { TrustUpdater, verifyRootChain, type RefreshResult } from '../notary/updater.js';
import { Policy } from '../policy/policy.js';
import { gunOf, parseImageReference } from '../registry/reference.js';
import { chainOf, NO_PINNING, ROOT, type TrustPinning } from '../trust/index.js';
import { defaultNotaryUrl, type Output } from './check.js';

export interface ExportOptions {
  readonly out: string;
  readonly config?: string;
  readonly notary?: string;
  readonly ca?: string;
}

const ROOT_MAX = 1 << 20;

/** GUN, Notary and pinning for a repository reference, from the configuration or the options. */
async function sourceFor(ref: string, config: Config | undefined, opts: ExportOptions) {
  const parsed = parseImageReference(ref);
  const gun = gunOf(parsed);
  const upstream = config?.upstreams.find((u) => u.name === parsed.registry);
  const notaryUrl = opts.notary ?? (upstream && upstream.notary !== 'offline' ? upstream.notary : undefined) ?? defaultNotaryUrl(parsed.registry);
  const ca = opts.ca ? await readFile(opts.ca, 'utf8') : upstream?.caPem;
  const pinning = config ? new Policy(config.policy, config.trust.tofu).decide(gun).pinning : NO_PINNING;
  return { gun, notaryUrl, ca, pinning, credentials: upstream?.notaryCredentials, allowedRealms: upstream?.allowedRealms };
}

export async function runExport(refs: readonly string[], opts: ExportOptions, io: Output): Promise<number> {
  try {
    const config = opts.config ? await loadConfig(opts.config) : undefined;
    const files = new Map<string, Buffer>();
    const repositories: BundleRepository[] = [];
    for (const ref of refs) {
      const src = await sourceFor(ref, config, opts);
      const remote = new NotaryRemote(src.notaryUrl, { ca: src.ca, credentials: src.credentials, allowedRealms: src.allowedRealms });
      try {
        const refresh = await new TrustUpdater({ fetcher: remote, store: new MemoryTrustStore(), pinning: src.pinning }).refresh(src.gun);
        const { set } = refresh;
        const version = set.root.root.version;
        const roots = new Map<number, Buffer>([[version, set.root.bytes]]);
        for (let v = 1; v < version; v++) {
          const b = await remote.fetch(src.gun, `${v}.root`, ROOT_MAX);
          if (!b) throw new BundleError(`${src.gun}: Notary has no root version ${v}`);
          roots.set(v, b);
        }
        verifyRootChain(src.gun, roots, set.root.bytes, new Date());
        for (const [v, b] of roots) files.set(trustPath(src.gun, `${v}.root`), b);
        files.set(trustPath(src.gun, ROOT), set.root.bytes);
        files.set(trustPath(src.gun, 'timestamp'), set.timestamp?.bytes as Buffer);
        files.set(trustPath(src.gun, 'snapshot'), set.snapshot?.bytes as Buffer);
        for (const [role, f] of set.targetsFiles) files.set(trustPath(src.gun, role), f.bytes);
        repositories.push({ gun: src.gun, rootVersion: version });
        io.out(`${src.gun}: root v${version}, ${set.targetsFiles.size} targets file(s), trust data valid until ${expiryOf(refresh)}`);
      } finally {
        await remote.close();
      }
    }
    const kind = await writeBundle(opts.out, repositories, files);
    io.out(`wrote ${kind === 'tar' ? 'bundle' : 'bundle directory'} ${opts.out} (${repositories.length} repositories, ${files.size} files)`);
    return 0;
  } catch (err) {
    if (!(err instanceof TrustgateError)) throw err;
    io.err(`export failed: ${err.message} [${err.code}]`);
    return 1;
  }
}

function expiryOf(refresh: RefreshResult): string {
  const until = Math.min(...chainOf(refresh.set, 'targets').map((c) => c.validUntil.getTime()));
  return new Date(until).toISOString();
}

/** The updater's requests answered from one repository of a bundle. */
class BundleFetcher implements MetadataFetcher {
  readonly origin = 'the trust bundle';
  constructor(
    private readonly bundle: Bundle,
    private readonly gun: string,
  ) {}

  fetch(gun: string, name: string, maxBytes: number): Promise<Buffer | undefined> {
    if (gun !== this.gun) return Promise.resolve(undefined);
    return answer((role) => this.bundle.read(trustPath(gun, role)), name, maxBytes);
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
        const roots = new Map<number, Buffer>();
        for (let v = 1; v <= version; v++) {
          const b = await bundle.read(trustPath(repo.gun, `${v}.root`));
          if (b) roots.set(v, b);
        }
        if (roots.size === version) {
          verifyRootChain(repo.gun, roots, refresh.set.root.bytes, new Date());
          for (const [v, b] of roots) await staging.putMetadata(repo.gun, `${v}.root`, b, v);
        }
        const stale = refresh.set.stale ? ' — UNDER OFFLINE GRACE (expired timestamp/snapshot accepted)' : '';
        summaries.push(`${repo.gun}: verified (root v${version}); accepted until ${expiryOf(refresh)}${stale}`);
      } catch (err) {
        if (!(err instanceof TrustgateError)) throw err;
        failures.push(`${repo.gun}: ${err.message} [${err.code}]`);
      }
    }
    if (failures.length > 0) {
      for (const f of failures) io.err(`refused: ${f}`);
      io.err(`the bundle was not imported: nothing was written to ${target.where}`);
      return 1;
    }
    await staging.commit();
    for (const s of summaries) io.out(s);
    io.out(`imported ${bundle.index.repositories.length} repositories into ${target.where}`);
    return 0;
  } catch (err) {
    if (!(err instanceof TrustgateError)) throw err;
    io.err(`import failed: ${err.message} [${err.code}]`);
    return 1;
  } finally {
    await close?.();
  }
}

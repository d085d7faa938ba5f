// `trustgate trust import`: verify a bundle again — root chain against the configured pins (or trust
// on first use) and the stored root, every signature, hash, length, version and expiry (with the
// upstream's offline grace) — with every file but the site's root and floors taken from the bundle,
// and the Sigstore signatures of its images under this site's rules (import-sigstore.ts); only if
// everything verified, write it all into the configured store at once: the tags' rollback records
// first (left ahead, they only refuse more), then the trust data.

import { isAtomicStore, StagingTrustStore } from '../cache/staging-store.js';
import type { TrustStore } from '../cache/trust-store.js';
import type { Config } from '../config/config.js';
import { ConfigError, TrustgateError } from '../errors.js';
import { buildNotaryClients, type NotaryClients } from '../notary/clients.js';
import { answer } from '../notary/offline.js';
import type { MetadataFetcher } from '../notary/remote.js';
import { Policy } from '../policy/policy.js';
import { acceptedUntil, ROOT } from '../trust/index.js';
import { BundleError, trustPath, type Bundle, type BundleRepository } from './bundle.js';
import type { TagAdvance, TagRecordStore } from '../sigstore/tag-history.js';
import { verifyBundleSignatures, type ImportedTag } from './import-sigstore.js';
import { NO_PROGRESS, type Hooks, type Progress } from './progress.js';
import { collectRootChain } from './root-chain.js';

export interface ImportSite {
  readonly config: Config;
  /** The configured store: Redis, or the trust.bundles directory. */
  readonly store: TrustStore;
  /** Where the tags' rollback memory goes: the same Redis or directory. */
  readonly tags: TagRecordStore;
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
  /** Tags whose Sigstore signatures verified under this site's rules, recorded as the tags' newest. */
  readonly signatures: readonly ImportedTag[];
  /** Repositories (or `<GUN>:<tag>`) that did not verify, and why: when any did, nothing was written. */
  readonly refused: readonly { readonly gun: string; readonly error: TrustgateError }[];
  readonly notes: readonly string[];
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
  const progress = hooks.progress ?? NO_PROGRESS;
  const fetcher = new BundleFetcher(bundle, progress);
  const clock = hooks.clock ?? Date.now;
  // the update workflow serve runs for each upstream (its pins, grace and limits), reading the bundle
  const policy = new Policy(site.config.policy, site.config.trust.tofu);
  const notary = buildNotaryClients(site.config, { store: staging, policy, fetcher, clock });
  const repos = bundle.index.repositories;
  const verified: ImportedRepository[] = [];
  const refused: { gun: string; error: TrustgateError }[] = [];
  for (const [i, repo] of repos.entries()) {
    progress.repository(repo.gun, i + 1, repos.length);
    try {
      verified.push(await verifyRepository(bundle, repo, { site, notary, staging, fetcher, now: new Date(clock()) }));
    } catch (err) {
      if (!(err instanceof TrustgateError)) throw err; // a fault, not a verdict
      refused.push({ gun: repo.gun, error: err });
    }
  }
  const signed = await verifyBundleSignatures(bundle, { config: site.config, policy, tags: site.tags, progress });
  refused.push(...signed.refused);
  if (refused.length === 0) await commit(site, staging, signed.advances);
  return { verified, signatures: signed.verified, refused, notes: signed.notes };
}

async function commit(site: ImportSite, staging: StagingTrustStore, advances: readonly TagAdvance[]): Promise<void> {
  const undo = await site.tags.advanceAll(advances);
  try {
    await staging.commit();
  } catch (err) {
    // the trust data's failure is what is reported; rollback records left ahead would only refuse more
    await undo().catch(() => undefined);
    throw err;
  }
}

interface VerifyContext {
  readonly site: ImportSite;
  readonly notary: NotaryClients;
  readonly staging: StagingTrustStore;
  readonly fetcher: BundleFetcher;
  readonly now: Date;
}

async function verifyRepository(bundle: Bundle, repo: BundleRepository, ctx: VerifyContext): Promise<ImportedRepository> {
  const { gun } = repo;
  const { fetcher } = ctx;
  const refresh = await ctx.notary.updaterFor(upstreamFor(ctx.site.config, gun)).refresh(gun);
  const { bytes, root } = refresh.set.root;
  if (refresh.timestampSource !== 'remote') throw new BundleError(`${gun}: the bundle's timestamp was not used`);
  if (repo.rootVersion !== root.version) throw new BundleError(`${gun}: bundle.json names root version ${repo.rootVersion}, the verified root is version ${root.version}`);
  const roots = await collectRootChain(gun, bytes, root.version, (v) => bundle.read(trustPath(gun, `${v}.${ROOT}`)), ctx.now);
  // the site may already hold this root, so the update need not have read the bundle's: check it
  if (!(await fetcher.fetch(gun, ROOT, ctx.site.config.trust.rootMaxBytes)).equals(bytes)) {
    throw new BundleError(`${gun}: the bundle's root.json is not its root version ${root.version}`);
  }
  for (const [v, b] of roots) await ctx.staging.putMetadata(gun, `${v}.${ROOT}`, b, v);
  return { gun, rootVersion: root.version, acceptedUntil: acceptedUntil(refresh.set), underGrace: refresh.set.stale };
}

/** The name of the upstream whose trust data `gun` is: its registry name. */
function upstreamFor(config: Config, gun: string): string {
  const u = config.upstreams.find((x) => gun.startsWith(`${x.name}/`));
  if (!u) throw new ConfigError(`no configured upstream serves ${gun}`);
  return u.name;
}

/** The updater's requests answered from the bundle. */
class BundleFetcher implements MetadataFetcher {
  readonly origin = 'the trust bundle';
  constructor(
    private readonly bundle: Bundle,
    private readonly progress: Progress,
  ) {}

  /** A file the update needs that the bundle lacks is an incomplete bundle, never an outage. */
  async fetch(gun: string, name: string, maxBytes: number): Promise<Buffer> {
    const b = this.bundle.index.repositories.some((r) => r.gun === gun) ? await answer((role) => this.bundle.read(trustPath(gun, role)), name, maxBytes) : undefined;
    if (!b) throw new BundleError(`the bundle has no ${name} for ${gun}: it is incomplete`);
    this.progress.bytes(b.length);
    this.progress.item();
    return b;
  }
}

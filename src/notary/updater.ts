// The update workflow of the notary client (notary client/tufclient.go), over the pure trust engine:
//
//   root      the stored root (re-verified; never replaced by a first contact), else root.json from
//             Notary (pinning / TOFU); rotated through N.root.json when it expired or an update
//             fails verification (root-update.ts)
//   timestamp always fetched; on a network error, 404 or 5xx the stored one, if still valid
//   snapshot  the stored copy if it matches the timestamp, else snapshot.<sha256>.json
//   targets   likewise from the snapshot; then every delegation the snapshot lists, breadth first
//
// Each file is written to the store only after it verified, and only a verified file raises a
// version floor; the floors come from the store.

import {
  ExpiredMetadataError,
  HttpStatusError,
  RepositoryError,
  TagNotSignedError,
  TimeoutError,
  TransportError,
  UnreachableError,
  UnsignedMetadataError,
} from '../errors.js';
import type { TrustStore } from '../cache/trust-store.js';
import {
  resolveSignedTag,
  SNAPSHOT,
  TARGETS,
  TIMESTAMP,
  TrustedMetadataSet,
  DOCKER_ROLES,
  type DelegationSpec,
  type FileMeta,
  type SignedTarget,
  type TrustPinning,
  type Verified,
  type Targets,
  type TrustContext,
} from '../trust/index.js';
import type { MetadataFetcher } from './remote.js';
import { loadTrustedRoot, rotateRoot, type RootDeps, type RootEvent } from './root-update.js';

export { verifyRootChain } from './root-update.js';

export const DEFAULT_LIMITS = {
  /** notary MaxTimestampSize */
  timestampMaxBytes: 1 << 20,
  /** A root fetched with no known checksum (first contact, rotation). */
  rootMaxBytes: 1 << 20,
  /** Root versions walked in one rotation. */
  maxRootRotations: 256,
  /** Delegated targets files loaded for one repository. */
  maxDelegations: 1024,
} as const;

export type Limits = { -readonly [K in keyof typeof DEFAULT_LIMITS]: number };

export interface UpdaterOptions {
  readonly fetcher: MetadataFetcher;
  readonly store: TrustStore;
  /** The trust pinning, or a function giving it per GUN (policy rules pin per repository). */
  readonly pinning: TrustPinning | ((gun: string) => TrustPinning);
  /** Offline grace for expired timestamp/snapshot metadata, ms (an upstream's offline.maxStaleness). */
  readonly maxStalenessMs?: number;
  readonly clock?: () => Date;
  readonly limits?: Partial<Limits>;
  readonly onEvent?: (event: UpdaterEvent) => void;
}

export type UpdaterEvent =
  | RootEvent
  | { type: 'timestamp-from-store'; gun: string; cause: TransportError }
  | { type: 'delegation-skipped'; gun: string; role: string; cause: RepositoryError };

export interface RefreshResult {
  readonly set: TrustedMetadataSet;
  /** Delegations left out as notary does (expired, or signatures below threshold), and why. */
  readonly skipped: ReadonlyMap<string, RepositoryError>;
  /** 'store' when Notary could not be reached and the stored timestamp was still valid. */
  readonly timestampSource: 'remote' | 'store';
}

export class TrustUpdater {
  private readonly limits: Limits;
  private readonly clock: () => Date;
  private readonly roots: RootDeps;
  /** When each trusted root's certificates stop carrying it, per repository refreshed (metrics). */
  private readonly certificates = new Map<string, Date>();

  constructor(private readonly opts: UpdaterOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.clock = opts.clock ?? (() => new Date());
    this.roots = {
      fetcher: opts.fetcher,
      store: opts.store,
      rootMaxBytes: this.limits.rootMaxBytes,
      maxRootRotations: this.limits.maxRootRotations,
      ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
    };
  }

  /** Bring the GUN's trust data up to date and return the fully verified set. */
  async refresh(gun: string): Promise<RefreshResult> {
    const pinning = typeof this.opts.pinning === 'function' ? this.opts.pinning(gun) : this.opts.pinning;
    const ctx = { gun, now: this.clock(), pinning, maxStalenessMs: this.opts.maxStalenessMs ?? 0 };
    const floors = await this.opts.store.getVersions(gun);
    const set = await loadTrustedRoot(this.roots, ctx, floors);
    if (set.isRootExpired()) await rotateRoot(this.roots, set, floors);
    this.noteCertificates(set);
    try {
      return await this.updateFromTimestamp(set, floors);
    } catch (err) {
      if (!(err instanceof RepositoryError)) throw err;
      // notary tufclient.Update: any verification failure may mean the root rotated; fetch the newest
      // root, rotate to it, and try once more from a clean set
      const fresh = TrustedMetadataSet.fromRoot(set.root.bytes, ctx, true);
      if (!(await rotateRoot(this.roots, fresh, floors))) throw err;
      this.noteCertificates(fresh);
      return await this.updateFromTimestamp(fresh, floors);
    }
  }

  /** Refresh, then resolve `tag` as `docker pull` would. */
  async resolve(gun: string, tag: string, roles: readonly string[] = DOCKER_ROLES): Promise<SignedTarget & { refresh: RefreshResult }> {
    const refresh = await this.refresh(gun);
    return { ...resolveExplained(refresh, tag, roles), refresh };
  }

  /** Per repository this updater refreshed: when its trusted root's certificates expire. */
  *rootCertificateExpiries(): IterableIterator<{ gun: string; expires: number }> {
    for (const [gun, d] of this.certificates) yield { gun, expires: d.getTime() };
  }

  private noteCertificates(set: TrustedMetadataSet): void {
    const expires = set.root.certificatesExpire;
    if (expires) this.certificates.set(set.gun, expires);
  }

  // ---- timestamp → snapshot → targets → delegations -------------------------------------

  private async updateFromTimestamp(set: TrustedMetadataSet, floors: Map<string, number>): Promise<RefreshResult> {
    const gun = set.gun;
    const floor = (role: string) => floors.get(role) ?? 0;
    const timestampSource = await this.loadTimestamp(set, floor(TIMESTAMP));

    const snapshotMeta = set.timestamp?.data.snapshot as FileMeta;
    await this.loadByChecksum(gun, SNAPSHOT, snapshotMeta, (b) => set.updateSnapshot(b, floor(SNAPSHOT)));
    const targetsMeta = set.snapshotMeta(TARGETS) as FileMeta;
    const targets = await this.loadByChecksum(gun, TARGETS, targetsMeta, (b) => set.updateTargets(b, floor(TARGETS)));

    const skipped = new Map<string, RepositoryError>();
    let queue = children(TARGETS, targets);
    let loaded = 0;
    while (queue.length > 0) {
      const { parent, spec } = queue.shift() as { parent: string; spec: DelegationSpec };
      const meta = set.snapshotMeta(spec.name);
      if (!meta) continue; // notary: no checksum for the role, so it is not downloaded
      if (++loaded > this.limits.maxDelegations) {
        throw new UnsignedMetadataError(spec.name, `more than ${this.limits.maxDelegations} delegations`);
      }
      try {
        const load = (b: Buffer) => set.updateDelegation(parent, spec, b, floor(spec.name));
        const v = await this.loadByChecksum(gun, spec.name, meta, load, { keepSkippedAt: floor(spec.name) });
        queue = [...children(spec.name, v), ...queue];
      } catch (err) {
        // notary downloadTargets: an expired or under-signed delegation is left out, not fatal
        if (!(err instanceof ExpiredMetadataError || err instanceof UnsignedMetadataError)) throw err;
        skipped.set(spec.name, err);
        this.opts.onEvent?.({ type: 'delegation-skipped', gun, role: spec.name, cause: err });
      }
    }
    return { set, skipped, timestampSource };
  }

  private async loadTimestamp(set: TrustedMetadataSet, floor: number): Promise<'remote' | 'store'> {
    const gun = set.gun;
    let raw: Buffer | undefined;
    try {
      raw = await this.opts.fetcher.fetch(gun, TIMESTAMP, this.limits.timestampMaxBytes);
      if (raw === undefined) throw new HttpStatusError(this.opts.fetcher.origin, 404, `${this.opts.fetcher.origin} has no timestamp for ${gun}`);
    } catch (err) {
      if (!isOutage(err)) throw err;
      // notary downloadTimestamp: use the stored timestamp only while it is still valid
      const stored = await this.opts.store.getMetadata(gun, TIMESTAMP);
      if (!stored) throw err;
      try {
        const v = set.updateTimestamp(stored, floor);
        await this.opts.store.putMetadata(gun, TIMESTAMP, stored, v.data.version);
      } catch (storedErr) {
        if (!(storedErr instanceof RepositoryError)) throw storedErr;
        throw new UnreachableError(err.url, `${err.message}; the stored trust data cannot be used: ${storedErr.message}`, {
          cause: storedErr,
        });
      }
      this.opts.onEvent?.({ type: 'timestamp-from-store', gun, cause: err });
      return 'store';
    }
    const v = set.updateTimestamp(raw, floor);
    await this.opts.store.putMetadata(gun, TIMESTAMP, raw, v.data.version);
    return 'remote';
  }

  /**
   * The stored copy if it still matches `meta`, else `<role>.<sha256>.json` from Notary. With
   * `keepSkippedAt` (delegations), a file that matched the snapshot's checksum but is expired or
   * under-signed is stored too: it is what the snapshot names, and offline sources (the store, a
   * bundle) must hold it so the delegation is left out again — never silently missing. It is stored
   * at the floor the role already had: a file that did not verify never raises a floor (or a
   * snapshot-key holder could publish one at version 2^53-1 and block every later fix).
   */
  private async loadByChecksum<T extends { data: { version: number } }>(
    gun: string,
    role: string,
    meta: FileMeta,
    load: (bytes: Buffer) => T,
    opts: { keepSkippedAt?: number } = {},
  ): Promise<T> {
    const stored = await this.opts.store.getMetadata(gun, role);
    if (stored && stored.length === meta.length) {
      let v: T | undefined;
      try {
        v = load(stored);
      } catch (err) {
        if (!(err instanceof RepositoryError)) throw err; // stale or damaged: fetch it
      }
      if (v) {
        await this.opts.store.putMetadata(gun, role, stored, v.data.version); // remembered by this process too
        return v;
      }
    }
    const sha256 = meta.hashes.get('sha256');
    const name = sha256 ? `${role}.${Buffer.from(sha256, 'base64').toString('hex')}` : role;
    const raw = await this.opts.fetcher.fetch(gun, name, meta.length);
    if (raw === undefined) throw new HttpStatusError(this.opts.fetcher.origin, 404, `${this.opts.fetcher.origin} has no ${name} for ${gun}`);
    let v: T;
    try {
      v = load(raw);
    } catch (err) {
      if (opts.keepSkippedAt !== undefined && (err instanceof ExpiredMetadataError || err instanceof UnsignedMetadataError)) {
        await this.opts.store.putMetadata(gun, role, raw, opts.keepSkippedAt);
      }
      throw err;
    }
    await this.opts.store.putMetadata(gun, role, raw, v.data.version);
    return v;
  }
}

/**
 * Resolve a tag in refreshed trust data; when it is not signed and notary left delegations out
 * (expired, under-signed), say so: that is usually why.
 */
export function resolveExplained(refresh: RefreshResult, tag: string, roles: readonly string[] = DOCKER_ROLES): SignedTarget {
  try {
    return resolveSignedTag(refresh.set, tag, roles);
  } catch (err) {
    if (!(err instanceof TagNotSignedError) || refresh.skipped.size === 0) throw err;
    const notes = [...refresh.skipped].map(([role, e]) => `${role} was ignored: ${e.message}`);
    throw new TagNotSignedError(err.gun, tag, `${err.reason}; ${notes.join('; ')}`, { cause: refresh.skipped.values().next().value });
  }
}

function children(parent: string, file: Verified<Targets>): { parent: string; spec: DelegationSpec }[] {
  return file.data.delegations.map((spec) => ({ parent, spec }));
}

/** notary treats these as "offline": fall back to stored trust data (ErrMetaNotFound, ErrServerUnavailable, network). */
function isOutage(err: unknown): err is TransportError {
  if (err instanceof UnreachableError || err instanceof TimeoutError) return true;
  return err instanceof HttpStatusError && (err.status === 404 || err.status >= 500);
}

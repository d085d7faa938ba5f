// The update workflow of the notary client (notary client/tufclient.go), over the pure trust engine:
//
//   root      the stored root (re-verified), else root.json from Notary (pinning / TOFU); rotated
//             through N.root.json when it expired or an update fails verification
//   timestamp always fetched; on a network error, 404 or 5xx the stored one, if still valid
//   snapshot  the stored copy if it matches the timestamp, else snapshot.<sha256>.json
//   targets   likewise from the snapshot; then every delegation the snapshot lists, breadth first
//
// Each file is written to the store only after it verified; version floors come from the store.

import {
  BadVersionError,
  ExpiredMetadataError,
  HttpStatusError,
  NoTrustDataError,
  RepositoryError,
  RootRotationError,
  TagNotSignedError,
  TimeoutError,
  TransportError,
  UnreachableError,
  UnsignedMetadataError,
} from '../errors.js';
import type { TrustStore } from '../cache/trust-store.js';
import {
  parseEnvelope,
  parseRoot,
  resolveSignedTag,
  ROOT,
  SNAPSHOT,
  TARGETS,
  TIMESTAMP,
  TrustedMetadataSet,
  DOCKER_ROLES,
  NO_PINNING,
  type DelegationSpec,
  type FileMeta,
  type SignedTarget,
  type TrustPinning,
  type Verified,
  type Targets,
  type TrustContext,
} from '../trust/index.js';
import type { MetadataFetcher } from './remote.js';

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
  | { type: 'timestamp-from-store'; gun: string; cause: TransportError }
  | { type: 'stored-root-rejected'; gun: string; cause: RepositoryError }
  | { type: 'root-rotated'; gun: string; from: number; to: number }
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

  constructor(private readonly opts: UpdaterOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.clock = opts.clock ?? (() => new Date());
  }

  /** Bring the GUN's trust data up to date and return the fully verified set. */
  async refresh(gun: string): Promise<RefreshResult> {
    const pinning = typeof this.opts.pinning === 'function' ? this.opts.pinning(gun) : this.opts.pinning;
    const ctx = { gun, now: this.clock(), pinning, maxStalenessMs: this.opts.maxStalenessMs ?? 0 };
    const floors = await this.opts.store.getVersions(gun);
    const set = await this.loadRoot(ctx, floors);
    if (set.isRootExpired()) await this.rotateRoot(set, floors);
    try {
      return await this.updateFromTimestamp(set, floors);
    } catch (err) {
      if (!(err instanceof RepositoryError)) throw err;
      // notary tufclient.Update: any verification failure may mean the root rotated; fetch the newest
      // root, rotate to it, and try once more from a clean set
      const fresh = TrustedMetadataSet.fromRoot(set.root.bytes, ctx, true);
      if (!(await this.rotateRoot(fresh, floors))) throw err;
      return await this.updateFromTimestamp(fresh, floors);
    }
  }

  /** Refresh, then resolve `tag` as `docker pull` would. */
  async resolve(gun: string, tag: string, roles: readonly string[] = DOCKER_ROLES): Promise<SignedTarget & { refresh: RefreshResult }> {
    const refresh = await this.refresh(gun);
    return { ...resolveExplained(refresh, tag, roles), refresh };
  }

  // ---- root ---------------------------------------------------------------------------

  private async loadRoot(ctx: TrustContext, floors: Map<string, number>) {
    const stored = await this.opts.store.getMetadata(ctx.gun, ROOT);
    if (stored) {
      try {
        return TrustedMetadataSet.fromRoot(stored, ctx, true);
      } catch (err) {
        if (!(err instanceof RepositoryError)) throw err;
        // e.g. pinning changed since this root was trusted: start over from Notary under the new rules
        this.opts.onEvent?.({ type: 'stored-root-rejected', gun: ctx.gun, cause: err });
      }
    }
    const raw = await this.opts.fetcher.fetch(ctx.gun, ROOT, this.limits.rootMaxBytes);
    if (raw === undefined) throw new NoTrustDataError(ctx.gun);
    const set = TrustedMetadataSet.fromRoot(raw, ctx, false);
    const floor = floors.get(ROOT) ?? 0;
    if (set.root.root.version < floor) throw new BadVersionError(ROOT, set.root.root.version, floor);
    await this.opts.store.putMetadata(ctx.gun, ROOT, raw, set.root.root.version);
    return set;
  }

  /**
   * Move `set` to the newest root Notary serves. True if the root changed. As notary updateRoot: try
   * the newest directly; if the trusted keys did not sign it, walk every version in between.
   */
  private async rotateRoot(set: TrustedMetadataSet, floors: Map<string, number>): Promise<boolean> {
    const gun = set.gun;
    const raw = await this.opts.fetcher.fetch(gun, ROOT, this.limits.rootMaxBytes);
    if (raw === undefined) throw new NoTrustDataError(gun);
    const from = set.root.root.version;
    if (raw.equals(set.root.bytes)) {
      set.checkRootExpiry();
      return false;
    }
    try {
      set.updateRoot(raw, { final: true });
    } catch (err) {
      if (!(err instanceof RootRotationError)) throw err;
      // untrusted peek at the claimed version, only to know how far to walk
      const newest = parseRoot(parseEnvelope(raw, ROOT)).version;
      if (newest < from) throw new BadVersionError(ROOT, newest, from); // an older root: a rollback
      if (newest - from > this.limits.maxRootRotations) {
        throw new RootRotationError(ROOT, `root jumps from version ${from} to ${newest}: too many rotations`);
      }
      for (let v = from + 1; v < newest; v++) {
        const mid = await this.opts.fetcher.fetch(gun, `${v}.${ROOT}`, this.limits.rootMaxBytes);
        if (mid === undefined) throw new RootRotationError(ROOT, `intermediate root version ${v} is missing`, { cause: err });
        set.updateRoot(mid, { final: false, exactVersion: v });
      }
      set.updateRoot(raw, { final: true });
    }
    const floor = floors.get(ROOT) ?? 0;
    if (set.root.root.version < floor) throw new BadVersionError(ROOT, set.root.root.version, floor);
    await this.opts.store.putMetadata(gun, ROOT, raw, set.root.root.version);
    this.opts.onEvent?.({ type: 'root-rotated', gun, from, to: set.root.root.version });
    return true;
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
        const v = await this.loadByChecksum(gun, spec.name, meta, (b) => set.updateDelegation(parent, spec, b, floor(spec.name)), true);
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
        set.updateTimestamp(stored, floor);
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
   * `keepSkipped` (delegations), a file that matched the snapshot's checksum but is expired or
   * under-signed is stored too: it is what the snapshot names, and offline sources (the store, a
   * bundle) must hold it so the delegation is left out again — never silently missing.
   */
  private async loadByChecksum<T extends { data: { version: number } }>(
    gun: string,
    role: string,
    meta: FileMeta,
    load: (bytes: Buffer) => T,
    keepSkipped = false,
  ): Promise<T> {
    const stored = await this.opts.store.getMetadata(gun, role);
    if (stored && stored.length === meta.length) {
      try {
        return load(stored);
      } catch (err) {
        if (!(err instanceof RepositoryError)) throw err; // stale or damaged: fetch it
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
      if (keepSkipped && (err instanceof ExpiredMetadataError || err instanceof UnsignedMetadataError)) {
        await this.opts.store.putMetadata(gun, role, raw, parsedVersion(raw));
      }
      throw err;
    }
    await this.opts.store.putMetadata(gun, role, raw, v.data.version);
    return v;
  }
}

/** `signed.version` of a file that parsed but did not verify (0 if absent). */
function parsedVersion(raw: Buffer): number {
  try {
    const v = (JSON.parse(raw.toString('utf8')) as { signed?: { version?: unknown } }).signed?.version;
    return Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : 0;
  } catch {
    return 0;
  }
}

/**
 * Check that root versions 1…N each sign the next (the rotations a client walks), and that the chain
 * ends at `trusted` (already verified under the pinning). Pinning is not applied to the older roots:
 * pins name today's keys, and a client that trusts version N never needs the older ones.
 */
export function verifyRootChain(gun: string, roots: ReadonlyMap<number, Buffer>, trusted: Buffer, now: Date): void {
  const first = roots.get(1);
  if (!first) throw new RootRotationError(ROOT, `${gun}: root version 1 is missing`);
  const set = TrustedMetadataSet.fromRoot(first, { gun, now, pinning: NO_PINNING }, true);
  const last = Math.max(...roots.keys());
  for (let v = 2; v <= last; v++) {
    const bytes = roots.get(v);
    if (!bytes) throw new RootRotationError(ROOT, `${gun}: root version ${v} is missing`);
    set.updateRoot(bytes, { final: false, exactVersion: v });
  }
  if (!set.root.bytes.equals(trusted)) throw new RootRotationError(ROOT, `${gun}: the root versions do not end at the trusted root`);
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

// A store whose writes are held back until `commit()`: an import verifies every repository of a
// bundle against it, and only if all of them verified are the writes handed to the real store — in
// one atomic batch when the real store can do that (the trust.bundles directory), else one by one.

import { applyFloor, type TrustStore } from './trust-store.js';

export interface StoredWrite {
  readonly gun: string;
  readonly role: string;
  readonly bytes: Buffer;
  readonly version: number;
  /** For a root: floors dropped when it replaces an older root (TrustStore.putMetadata). */
  readonly resetFloors?: readonly string[];
}

/** A store that writes many files at once, all or none, and can be held exclusively. */
export interface AtomicTrustStore extends TrustStore {
  /** Every write (each under the usual floor rules) or, on any failure, none. */
  putAll(writes: readonly StoredWrite[]): Promise<void>;
  /** Run `fn` while no other writer (another process included) can write. */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
}

export function isAtomicStore(store: TrustStore): store is AtomicTrustStore {
  return typeof (store as Partial<AtomicTrustStore>).putAll === 'function' && typeof (store as Partial<AtomicTrustStore>).exclusive === 'function';
}

export interface StagingOptions {
  /**
   * Roles whose stored copy reads fall through to for (default: all). An import passes only `root`:
   * the previously trusted root and the floors come from the site; every other file must come from
   * the bundle, so an incomplete bundle is never completed from what the site holds.
   */
  readonly readThrough?: (role: string) => boolean;
}

export class StagingTrustStore implements TrustStore {
  private readonly writes: StoredWrite[] = [];
  /** The staged writes of each repository, in order: replayed over the real store's floors. */
  private readonly byGun = new Map<string, (StoredWrite & { readonly resetFloors: readonly string[] })[]>();

  constructor(
    private readonly target: TrustStore,
    private readonly opts: StagingOptions = {},
  ) {}

  async getMetadata(gun: string, role: string): Promise<Buffer | undefined> {
    const staged = this.byGun.get(gun)?.findLast((w) => w.role === role)?.bytes;
    if (staged || !(this.opts.readThrough?.(role) ?? true)) return staged;
    return this.target.getMetadata(gun, role);
  }

  async putMetadata(gun: string, role: string, bytes: Buffer, version: number, resetFloors: readonly string[] = []): Promise<void> {
    const floor = (await this.getVersions(gun)).get(role) ?? 0;
    if (version < floor) return; // never replace newer trust data with older
    const write = { gun, role, bytes: Buffer.from(bytes), version, resetFloors };
    this.writes.push(write);
    const ofGun = this.byGun.get(gun);
    if (ofGun) ofGun.push(write);
    else this.byGun.set(gun, [write]);
  }

  /**
   * The floors the real store will hold after `commit`: its own, with the staged writes applied in
   * order under its rule — so a staged newer root drops the floors it names (TUF 5.3.11) whether
   * they came from the real store or were staged before it, and a floor of 0 is a floor too.
   */
  async getVersions(gun: string): Promise<Map<string, number>> {
    const floors = await this.target.getVersions(gun);
    for (const w of this.byGun.get(gun) ?? []) applyFloor(floors, w.role, w.version, w.resetFloors);
    return floors;
  }

  /** Hand every staged write to the real store. */
  async commit(): Promise<void> {
    if (isAtomicStore(this.target)) return this.target.putAll(this.writes);
    for (const w of this.writes) await this.target.putMetadata(w.gun, w.role, w.bytes, w.version, w.resetFloors);
  }

  /** The writes `commit` would make. */
  get pending(): readonly StoredWrite[] {
    return this.writes;
  }

  async close(): Promise<void> {}
}

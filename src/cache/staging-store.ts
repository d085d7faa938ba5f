// A store whose writes are held back until `commit()`: an import verifies every repository of a
// bundle against it, and only if all of them verified are the writes handed to the real store — in
// one atomic batch when the real store can do that (the trust.bundles directory), else one by one.

import { MemoryTrustStore, type TrustStore } from './trust-store.js';

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
  private readonly staged = new MemoryTrustStore();
  private readonly writes: StoredWrite[] = [];

  constructor(
    private readonly target: TrustStore,
    private readonly opts: StagingOptions = {},
  ) {}

  async getMetadata(gun: string, role: string): Promise<Buffer | undefined> {
    const staged = await this.staged.getMetadata(gun, role);
    if (staged || !(this.opts.readThrough?.(role) ?? true)) return staged;
    return this.target.getMetadata(gun, role);
  }

  async putMetadata(gun: string, role: string, bytes: Buffer, version: number, resetFloors: readonly string[] = []): Promise<void> {
    const floor = (await this.getVersions(gun)).get(role) ?? 0;
    if (version < floor) return; // never replace newer trust data with older
    await this.staged.putMetadata(gun, role, bytes, version, resetFloors);
    this.writes.push({ gun, role, bytes: Buffer.from(bytes), version, resetFloors });
  }

  /** The real store's floors, raised by what is staged. */
  async getVersions(gun: string): Promise<Map<string, number>> {
    const v = await this.target.getVersions(gun);
    // a staged floor of 0 is a floor too: kept when the real store has none for the role
    for (const [role, n] of await this.staged.getVersions(gun)) v.set(role, Math.max(v.get(role) ?? n, n));
    return v;
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

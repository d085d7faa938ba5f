// Where verified trust data lives between refreshes. The store holds untrusted bytes: everything read
// back is verified again before use, and only bytes that verified are ever written (python-tuf
// _persist_metadata). The version floors are the rollback memory: they only ever go up.

import { ROOT } from '../trust/metadata.js';

export interface TrustStore {
  /** The last verified bytes of a role's metadata for a GUN. */
  getMetadata(gun: string, role: string): Promise<Buffer | undefined>;
  /**
   * Store verified bytes and raise the role's version floor to `version`, atomically; a version
   * below the floor changes nothing. For the root, `resetFloors` names the roles whose floors are
   * dropped in the same step when this root replaces an older one (their keys rotated: TUF 5.3.11).
   */
  putMetadata(gun: string, role: string, bytes: Buffer, version: number, resetFloors?: readonly string[]): Promise<void>;
  /** Highest verified version seen per role. */
  getVersions(gun: string): Promise<Map<string, number>>;
  close(): Promise<void>;
}

/**
 * The floor rule of a write (TrustStore.putMetadata), applied to one repository's `floors`: a version
 * below the role's floor changes nothing (false); otherwise the floor becomes `version`, and a root
 * that replaces an older one first drops the floors it names. The memory store and the staging
 * store's view of the floors a commit will leave both keep it here.
 */
export function applyFloor(floors: Map<string, number>, role: string, version: number, resetFloors: readonly string[]): boolean {
  const floor = floors.get(role) ?? 0;
  if (version < floor) return false; // never replace newer trust data with older
  if (role === ROOT && floor > 0 && version > floor) for (const r of resetFloors) floors.delete(r);
  floors.set(role, version);
  return true;
}

/** In-process store: the default when no Redis is configured. */
export class MemoryTrustStore implements TrustStore {
  private readonly metadata = new Map<string, Buffer>();
  private readonly versions = new Map<string, Map<string, number>>();

  async getMetadata(gun: string, role: string): Promise<Buffer | undefined> {
    return this.metadata.get(`${gun}\n${role}`);
  }

  async putMetadata(gun: string, role: string, bytes: Buffer, version: number, resetFloors: readonly string[] = []): Promise<void> {
    let v = this.versions.get(gun);
    if (!v) this.versions.set(gun, (v = new Map()));
    if (applyFloor(v, role, version, resetFloors)) this.metadata.set(`${gun}\n${role}`, Buffer.from(bytes));
  }

  /** Repositories whose root this store holds. */
  *repositories(): IterableIterator<string> {
    for (const [gun, v] of this.versions) if (v.has(ROOT)) yield gun;
  }

  hasRoot(gun: string): boolean {
    return this.versions.get(gun)?.has(ROOT) ?? false;
  }

  async getVersions(gun: string): Promise<Map<string, number>> {
    return new Map(this.versions.get(gun) ?? []);
  }

  async close(): Promise<void> {}
}

// Where verified trust data lives between refreshes. The store holds untrusted bytes: everything read
// back is verified again before use, and only bytes that verified are ever written (python-tuf
// _persist_metadata). The version floors are the rollback memory: they only ever go up.

export interface TrustStore {
  /** The last verified bytes of a role's metadata for a GUN. */
  getMetadata(gun: string, role: string): Promise<Buffer | undefined>;
  /** Store verified bytes and raise the role's version floor to `version`, atomically. */
  putMetadata(gun: string, role: string, bytes: Buffer, version: number): Promise<void>;
  /** Highest verified version seen per role. */
  getVersions(gun: string): Promise<Map<string, number>>;
  close(): Promise<void>;
}

/** In-process store: the default when no Redis is configured. */
export class MemoryTrustStore implements TrustStore {
  private readonly metadata = new Map<string, Buffer>();
  private readonly versions = new Map<string, Map<string, number>>();

  async getMetadata(gun: string, role: string): Promise<Buffer | undefined> {
    return this.metadata.get(`${gun}\n${role}`);
  }

  async putMetadata(gun: string, role: string, bytes: Buffer, version: number): Promise<void> {
    let v = this.versions.get(gun);
    if (!v) this.versions.set(gun, (v = new Map()));
    if (version < (v.get(role) ?? 0)) return; // never replace newer trust data with older
    this.metadata.set(`${gun}\n${role}`, Buffer.from(bytes));
    v.set(role, version);
  }

  async getVersions(gun: string): Promise<Map<string, number>> {
    return new Map(this.versions.get(gun) ?? []);
  }

  async close(): Promise<void> {}
}

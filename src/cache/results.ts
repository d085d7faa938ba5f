// Verified results shared by every replica: tag → digest answers (until the trust data behind them
// expires), manifests by digest (immutable: verified bytes never change), and the children of signed
// manifest lists / indexes. The in-memory implementation is the default; redis.ts is the shared one.

export interface TagResult {
  readonly digest: string;
  readonly length: number;
  readonly role: string;
  readonly signers: readonly string[];
  /** Epoch ms: the earliest expiry of the trust data behind the answer. */
  readonly expires: number;
  /** Epoch ms: when trust data was last verified for it. */
  readonly verifiedAt: number;
  /** Accepted under an offline grace (expired timestamp/snapshot metadata). */
  readonly stale?: boolean;
}

export interface CachedManifest {
  readonly mediaType: string;
  readonly body: Buffer;
}

export interface ResultCache {
  getTag(key: string): Promise<TagResult | undefined>;
  putTag(key: string, value: TagResult, ttlMs: number): Promise<void>;
  deleteTag(key: string): Promise<void>;
  getManifest(digest: string): Promise<CachedManifest | undefined>;
  putManifest(digest: string, manifest: CachedManifest): Promise<void>;
  /** Record digests as children of a verified signed index of `gun`, for `ttlMs`. */
  addChildren(gun: string, digests: readonly string[], ttlMs: number): Promise<void>;
  isChild(gun: string, digest: string): Promise<boolean>;
  close(): Promise<void>;
}

interface Expiring<T> {
  readonly value: T;
  readonly until: number;
}

/** In-process results, bounded: manifests by total bytes (least recently used first out). */
export class MemoryResultCache implements ResultCache {
  private readonly tags = new Map<string, Expiring<TagResult>>();
  private readonly manifests = new Map<string, CachedManifest>();
  private manifestBytes = 0;
  private readonly children = new Map<string, Map<string, number>>();

  constructor(
    private readonly maxManifestBytes = 256 << 20,
    private readonly maxTags = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  async getTag(key: string): Promise<TagResult | undefined> {
    const e = this.tags.get(key);
    if (!e) return undefined;
    if (e.until <= this.now()) {
      this.tags.delete(key);
      return undefined;
    }
    return e.value;
  }

  async putTag(key: string, value: TagResult, ttlMs: number): Promise<void> {
    this.tags.delete(key);
    if (this.tags.size >= this.maxTags) this.tags.delete(this.tags.keys().next().value as string);
    this.tags.set(key, { value, until: this.now() + ttlMs });
  }

  async deleteTag(key: string): Promise<void> {
    this.tags.delete(key);
  }

  async getManifest(digest: string): Promise<CachedManifest | undefined> {
    const m = this.manifests.get(digest);
    if (m) {
      this.manifests.delete(digest); // refresh its place in the LRU order
      this.manifests.set(digest, m);
    }
    return m;
  }

  async putManifest(digest: string, manifest: CachedManifest): Promise<void> {
    if (this.manifests.has(digest) || manifest.body.length > this.maxManifestBytes) return;
    this.manifests.set(digest, manifest);
    this.manifestBytes += manifest.body.length;
    for (const [d, m] of this.manifests) {
      if (this.manifestBytes <= this.maxManifestBytes) break;
      this.manifests.delete(d);
      this.manifestBytes -= m.body.length;
    }
  }

  async addChildren(gun: string, digests: readonly string[], ttlMs: number): Promise<void> {
    let set = this.children.get(gun);
    if (!set) this.children.set(gun, (set = new Map()));
    const until = this.now() + ttlMs;
    for (const d of digests) set.set(d, Math.max(until, set.get(d) ?? 0));
  }

  async isChild(gun: string, digest: string): Promise<boolean> {
    const until = this.children.get(gun)?.get(digest);
    return until !== undefined && until > this.now();
  }

  async close(): Promise<void> {}
}

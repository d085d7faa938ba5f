// Results shared by every replica that need no trust in the store holding them:
//   manifests by digest  bytes are re-hashed against the digest on every read (a store that lies
//                        about them is caught there)
//   parent hints         which verified index listed a child digest: a hint only — a child is admitted
//                        after its parent is found signed in current trust data and the parent's bytes
//                        (hash-checked) are found to list it
// Tag answers are not shared: every replica derives them from trust data it verified itself.
// The in-memory implementation is the default; redis.ts is the shared one.

import { BoundedMap } from './bounded-map.js';

export interface CachedManifest {
  readonly mediaType: string;
  readonly body: Buffer;
}

export interface ResultCache {
  getManifest(digest: string): Promise<CachedManifest | undefined>;
  putManifest(digest: string, manifest: CachedManifest): Promise<void>;
  /** Note that the verified index `parent` of `gun` lists `children`, for `ttlMs`. */
  addParentHint(gun: string, parent: string, children: readonly string[], ttlMs: number): Promise<void>;
  /** Index digests that were noted as listing `child` (unverified: check before use). */
  parentHints(gun: string, child: string): Promise<string[]>;
  close(): Promise<void>;
}

/** Parents noted per child, at most this many (a child in more indexes than this is found through the first ones). */
export const MAX_PARENT_HINTS = 16;

/** In-process results, bounded: manifests by total bytes, hints by count (least recently used out). */
export class MemoryResultCache implements ResultCache {
  private readonly manifests = new Map<string, CachedManifest>();
  private manifestBytes = 0;
  private readonly parents: BoundedMap<string, Map<string, number>>;

  constructor(
    private readonly maxManifestBytes = 256 << 20,
    maxHints = 100_000,
    private readonly now: () => number = Date.now,
  ) {
    this.parents = new BoundedMap(maxHints);
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

  async addParentHint(gun: string, parent: string, children: readonly string[], ttlMs: number): Promise<void> {
    const until = this.now() + ttlMs;
    for (const child of children) {
      const key = `${gun}|${child}`;
      const hints = this.parents.get(key) ?? new Map<string, number>();
      hints.set(parent, Math.max(until, hints.get(parent) ?? 0));
      if (hints.size > MAX_PARENT_HINTS) hints.delete(hints.keys().next().value as string);
      this.parents.set(key, hints);
    }
  }

  async parentHints(gun: string, child: string): Promise<string[]> {
    const now = this.now();
    return [...(this.parents.get(`${gun}|${child}`) ?? [])].filter(([, until]) => until > now).map(([parent]) => parent);
  }

  async close(): Promise<void> {}
}

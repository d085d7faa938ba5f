// The tag rollback memory in the `trust.bundles` directory, for a site without Redis: what imports
// record — each tag's newest signed digest, verified from the bundle's signatures — so rollback
// protection crosses the air gap and outlives restarts.
//
//   <dir>/_sigstore-tags.json   {format, repositories: {<GUN>: {<tag>: {digest, order?, superseded}}}}
//
// The file lives in the trust anchor directory and is read and written with its protections
// (cache/safe-dir.ts: owner and mode checked, no symlink followed, replaced whole by a rename), and
// written only under the directory's lock (imports, `trustgate sigstore accept-tag`). `serve` only
// reads it — the directory may be read-only — and remembers in process what it served beyond it
// (ImportedTagHistory); when the file changes for a tag (an import, an operator's accept-tag), the
// file's state for that tag is the one decided from.

import { StoreDamagedError, TagRollbackError } from '../errors.js';
import { SIDE_RECORDS } from '../cache/directory-store.js';
import { SafeDir } from '../cache/safe-dir.js';
import { isValidGun, TAG } from '../registry/reference.js';
import { decideAdvance, resetState, SUPERSEDED_MAX, type Advance, type TagAdvance, type TagHistoryStore, type TagRecord, type TagRecordStore, type TagState } from './tag-history.js';

export const TAGS_FILE = SIDE_RECORDS.sigstoreTags;
const FORMAT = 'trustgate-sigstore-tags/v1';
const MAX_FILE = 64 << 20;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

type Records = Map<string, Map<string, TagState>>;

/** Runs `fn` holding the directory's writer lock (DirectoryTrustStore.exclusive: re-entrant). */
export type Exclusive = <T>(fn: () => Promise<T>) => Promise<T>;

export class DirectoryTagRecords implements TagRecordStore {
  private readonly fs: SafeDir;
  private cached: { key: string; records: Records } | undefined;

  constructor(
    readonly dir: string,
    private readonly exclusive: Exclusive,
    uid: number = process.geteuid?.() ?? 0,
  ) {
    this.fs = new SafeDir(dir, uid);
  }

  async get(gun: string, tag: string): Promise<TagState | undefined> {
    return (await this.read()).records.get(gun)?.get(tag);
  }

  /**
   * decideAdvance for every record, all or none: a record older than the tag's newest refuses the
   * whole set (TAG_ROLLBACK) before anything is written. Returns what puts the file back as it was.
   */
  advanceAll(advances: readonly TagAdvance[]): Promise<() => Promise<void>> {
    return this.exclusive(async () => {
      const { bytes, records } = await this.readForWrite();
      for (const { gun, tag, record } of advances) {
        const state = records.get(gun)?.get(tag);
        const next = decideAdvance(state, record);
        if (next === undefined) throw new TagRollbackError(gun, tag, record.digest, (state as TagState).newest.digest);
        setState(records, gun, tag, next);
      }
      if (advances.length > 0) await this.write(records);
      return () => this.exclusive(() => (bytes === undefined ? this.fs.remove([TAGS_FILE]) : this.fs.writeFile([TAGS_FILE], bytes)));
    });
  }

  /** An operator's deliberate re-tag (tag-history.ts resetState), or forgetting the tag. */
  reset(gun: string, tag: string, digest?: string): Promise<void> {
    return this.exclusive(async () => {
      const { records } = await this.readForWrite();
      if (digest !== undefined) setState(records, gun, tag, resetState(records.get(gun)?.get(tag), digest));
      else records.get(gun)?.delete(tag);
      await this.write(records);
    });
  }

  private async write(records: Records): Promise<void> {
    const repositories = Object.fromEntries(
      [...records].filter(([, tags]) => tags.size > 0).sort(([a], [b]) => a.localeCompare(b)).map(([gun, tags]) => [gun, Object.fromEntries([...tags].sort(([a], [b]) => a.localeCompare(b)).map(([tag, s]) => [tag, toJson(s)]))]),
    );
    await this.fs.writeFile([TAGS_FILE], Buffer.from(JSON.stringify({ format: FORMAT, repositories }, null, 1) + '\n'));
    this.cached = undefined;
  }

  /** The records as read (not to be changed), and with `withBytes` the file's bytes; none without a file. */
  private async read(withBytes = false): Promise<{ bytes: Buffer | undefined; records: Records }> {
    if (!(await this.fs.checkRoot(false))) return { bytes: undefined, records: new Map() };
    const opened = await this.fs.openFile([TAGS_FILE]);
    if (!opened) return { bytes: undefined, records: new Map() };
    try {
      const st = await opened.fh.stat({ bigint: true });
      const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
      if (this.cached?.key === key && !withBytes) return { bytes: undefined, records: this.cached.records };
      if (st.size > MAX_FILE) throw new StoreDamagedError(`${this.fs.path([TAGS_FILE])} is larger than ${MAX_FILE} bytes`);
      const bytes = await opened.fh.readFile();
      if (this.cached?.key !== key) this.cached = { key, records: parseRecords(bytes, this.fs.path([TAGS_FILE])) };
      return { bytes, records: this.cached.records };
    } finally {
      await opened.fh.close();
    }
  }

  /** A copy of the records to change, and the file's bytes as they were. */
  private async readForWrite(): Promise<{ bytes: Buffer | undefined; records: Records }> {
    const { bytes, records } = await this.read(true);
    return { bytes, records: new Map([...records].map(([gun, tags]) => [gun, new Map(tags)])) };
  }
}

function setState(records: Records, gun: string, tag: string, state: TagState): void {
  let tags = records.get(gun);
  if (!tags) records.set(gun, (tags = new Map()));
  tags.set(tag, state);
}

function toJson(s: TagState): Record<string, unknown> {
  return { digest: s.newest.digest, ...(s.newest.order !== undefined ? { order: s.newest.order } : {}), superseded: s.superseded };
}

function parseRecords(bytes: Buffer, path: string): Records {
  const damaged = (why: string, cause?: unknown) =>
    new StoreDamagedError(`${path} is damaged (${why}): restore it from a backup, or remove it (the tags' rollback memory then starts over from the next import)`, { cause });
  let doc: { format?: unknown; repositories?: unknown };
  try {
    doc = JSON.parse(bytes.toString('utf8')) as typeof doc;
  } catch (cause) {
    throw damaged('not JSON', cause);
  }
  if (typeof doc !== 'object' || doc === null || doc.format !== FORMAT || typeof doc.repositories !== 'object' || doc.repositories === null) throw damaged(`not a ${FORMAT} file`);
  const records: Records = new Map();
  for (const [gun, tags] of Object.entries(doc.repositories)) {
    if (!isValidGun(gun) || typeof tags !== 'object' || tags === null) throw damaged(`repository ${JSON.stringify(gun)}`);
    for (const [tag, s] of Object.entries(tags as Record<string, unknown>)) {
      const state = stateOf(s);
      if (!TAG.test(tag) || state === undefined) throw damaged(`${gun}:${tag}`);
      setState(records, gun, tag, state);
    }
  }
  return records;
}

function stateOf(v: unknown): TagState | undefined {
  const s = v as { digest?: unknown; order?: unknown; superseded?: unknown } | null;
  if (typeof s !== 'object' || s === null || typeof s.digest !== 'string' || !DIGEST.test(s.digest)) return undefined;
  if (s.order !== undefined && !Number.isSafeInteger(s.order)) return undefined;
  if (!Array.isArray(s.superseded) || s.superseded.length > SUPERSEDED_MAX || !s.superseded.every((d) => typeof d === 'string' && DIGEST.test(d))) return undefined;
  return { newest: { digest: s.digest, order: s.order as number | undefined }, superseded: s.superseded as string[] };
}

/**
 * serve's rollback memory on a `trust.bundles` site: a digest must be accepted by the imported record
 * and by what this process served since (each decided by tag-history.ts's rule). The imported record is
 * read, never written, here; when it changes for a tag, it replaces what the process remembered.
 */
export class ImportedTagHistory implements TagHistoryStore {
  /** Per tag: the imported state it grew from (JSON), and the state now. */
  private readonly served = new Map<string, { readonly seed: string; readonly state: TagState }>();

  constructor(
    private readonly records: DirectoryTagRecords,
    private readonly maxTags = 100_000,
  ) {}

  async advance(gun: string, tag: string, candidate: TagRecord): Promise<Advance> {
    const { key, seed, state } = await this.current(gun, tag);
    const next = decideAdvance(state, candidate);
    if (next === undefined) return { accepted: false, newest: (state as TagState).newest };
    this.served.delete(key);
    if (this.served.size >= this.maxTags) this.served.delete(this.served.keys().next().value as string);
    this.served.set(key, { seed, state: next });
    return { accepted: true };
  }

  async get(gun: string, tag: string): Promise<TagState | undefined> {
    return (await this.current(gun, tag)).state;
  }

  async reset(gun: string, tag: string, digest?: string): Promise<void> {
    this.served.delete(`${gun}\n${tag}`);
    await this.records.reset(gun, tag, digest);
  }

  private async current(gun: string, tag: string): Promise<{ key: string; seed: string; state: TagState | undefined }> {
    const key = `${gun}\n${tag}`;
    const imported = await this.records.get(gun, tag);
    const seed = JSON.stringify(imported ?? null);
    const mine = this.served.get(key);
    return { key, seed, state: mine !== undefined && mine.seed === seed ? mine.state : imported };
  }
}

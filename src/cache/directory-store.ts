// Trust data in a directory (`trust.bundles`): what `trustgate trust import` writes when no Redis is
// configured, and what `serve` reads on every refresh — so an import takes effect at the next refresh
// (or at once on SIGHUP). Same contract as the other stores: verified bytes only, version floors that
// only go up. The directory is a trust anchor; safe-dir.ts says who may write it and how files are
// opened.
//
//   <dir>/_index.json                       the store's record: per repository, each role's version
//                                           (the rollback floors) and the SHA-256 of the bytes the
//                                           store wrote. A file the index does not name is never read;
//                                           a named file whose bytes differ is never returned.
//   <dir>/<GUN>/_tuf/<role>.<sha256>.json   the bytes, content-addressed: a write never replaces a file
//                                           the current index names, so the index's rename is the one
//                                           commit point of a write — of many repositories at once too
//   <dir>/_lock, <dir>/_tmp-<random>        the writers' lock (directory-lock.ts), files being written
//
// `_tuf` keeps a repository's files apart from nested repositories' (no repository name component
// starts with `_`). What the index guarantees: a file copied into the directory, or a root left by
// hand, is not "previously trusted"; deleting a file or a repository's directory loses no floor (the
// index keeps it); deleting the index while trust data remains is refused, not read as "nothing
// stored". It cannot stop someone who can write as trustgate's user — they could rewrite the index
// too — which is why safe-dir.ts refuses a directory anyone else can write.

import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { ConfigError, StoreDamagedError } from '../errors.js';
import { isValidGun } from '../registry/reference.js';
import { ROOT, STORED_ROLE_NAME } from '../trust/metadata.js';
import { DirectoryLock, LOCK_NAME, type LockOptions } from './directory-lock.js';
import { isSafeComponent, SafeDir, TEMP_PREFIX } from './safe-dir.js';
import type { AtomicTrustStore, StoredWrite } from './staging-store.js';

const INDEX = '_index.json';
const FORMAT = 'trustgate-trust-store/v1';
const MAX_FILE = 64 << 20;
const MAX_INDEX = 256 << 20;

interface Entry {
  readonly version: number;
  readonly sha256: string;
}
type Index = Map<string, Map<string, Entry>>;

export interface DirectoryStoreOptions extends LockOptions {
  /** The user trustgate runs as (default: the effective uid): the one owner besides root accepted. */
  readonly uid?: number;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The directories of a repository's files, from a name checked component by component. */
function repoParts(gun: string): string[] {
  const parts = gun.split('/');
  if (!isValidGun(gun) || !parts.every(isSafeComponent)) throw new ConfigError(`invalid repository name ${JSON.stringify(gun)}`);
  return [...parts, '_tuf'];
}

function dataParts(gun: string, role: string, entry: Entry): string[] {
  const r = role.split('/');
  const last = r.pop() as string;
  return [...repoParts(gun), ...r, `${last}.${entry.sha256}.json`];
}

export class DirectoryTrustStore implements AtomicTrustStore {
  private readonly fs: SafeDir;
  private readonly lock: DirectoryLock;
  private readonly holding = new AsyncLocalStorage<boolean>();
  private queue: Promise<unknown> = Promise.resolve();
  private cached: { key: string; index: Index } | undefined;
  /** Files found missing or altered: writing the same bytes again restores them. */
  private readonly lost = new Set<string>();

  constructor(
    readonly dir: string,
    opts: DirectoryStoreOptions = {},
  ) {
    this.fs = new SafeDir(dir, opts.uid ?? process.geteuid?.() ?? 0);
    this.lock = new DirectoryLock(this.fs, opts);
  }

  /** Check the directory and its index now (at start-up: an unsafe directory is a configuration error). */
  async check(): Promise<void> {
    await this.readIndex();
  }

  async getMetadata(gun: string, role: string): Promise<Buffer | undefined> {
    if (!STORED_ROLE_NAME.test(role)) return undefined;
    repoParts(gun);
    // twice: a writer may have replaced the file between our reading the index and the file
    for (let attempt = 0; attempt < 2; attempt++) {
      const entry = (await this.readIndex()).get(gun)?.get(role);
      if (!entry) return undefined;
      const b = await this.fs.readFile(dataParts(gun, role, entry), MAX_FILE, () => new ConfigError(`${gun} ${role}: stored file larger than ${MAX_FILE} bytes`));
      if (b && sha256(b) === entry.sha256) return b;
    }
    // deleted or altered since the store wrote it: absent (refetched, and held to the index's floors)
    this.lost.add(`${gun}\n${role}`);
    return undefined;
  }

  async getVersions(gun: string): Promise<Map<string, number>> {
    repoParts(gun);
    return new Map([...((await this.readIndex()).get(gun) ?? [])].map(([role, e]) => [role, e.version]));
  }

  async putMetadata(gun: string, role: string, bytes: Buffer, version: number, resetFloors: readonly string[] = []): Promise<void> {
    await this.putAll([{ gun, role, bytes, version, resetFloors }]);
  }

  async putAll(writes: readonly StoredWrite[]): Promise<void> {
    for (const w of writes) {
      if (!STORED_ROLE_NAME.test(w.role)) throw new ConfigError(`invalid role ${JSON.stringify(w.role)}`);
      repoParts(w.gun);
    }
    // refreshes re-store what they read: nothing new takes no lock and writes nothing, so a store
    // only ever read (offline upstreams) may be read-only to serve
    if (plan(await this.readIndex(), writes, this.lost).files.length === 0) return;
    await this.exclusive(() => this.commit(writes));
  }

  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.holding.getStore()) return fn();
    const run = async () => {
      await this.fs.checkRoot(true);
      const release = await this.lock.acquire();
      try {
        return await this.holding.run(true, fn);
      } finally {
        await release();
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  async close(): Promise<void> {}

  /** Under the lock: the new files, then the index (the commit point), then the old files go. */
  private async commit(writes: readonly StoredWrite[]): Promise<void> {
    const current = await this.readIndex();
    const { next, files } = plan(current, writes, this.lost);
    if (files.length === 0) return;
    const written: string[][] = [];
    try {
      for (const f of files) {
        await this.fs.writeFile(f.parts, f.bytes);
        written.push(f.parts);
      }
      for (const d of new Set(files.map((f) => f.parts.slice(0, -1).join('/')))) await this.fs.syncDir(d.split('/'));
      await this.fs.writeFile([INDEX], serialize(next));
      await this.fs.syncDir([]);
    } catch (err) {
      for (const p of written) await this.fs.remove(p).catch(() => undefined);
      throw err;
    }
    this.cached = undefined;
    for (const w of writes) this.lost.delete(`${w.gun}\n${w.role}`);
    // the commit stands whatever happens here: leftovers are never read, and the next commit retries
    await this.collectGarbage(new Set(files.map((f) => f.gun)), next).catch(() => undefined);
  }

  private async collectGarbage(guns: ReadonlySet<string>, index: Index): Promise<void> {
    const keep = new Set<string>();
    for (const gun of guns) for (const [role, e] of index.get(gun) ?? []) keep.add(dataParts(gun, role, e).join('/'));
    for (const gun of guns) await this.sweep(repoParts(gun), keep);
    for (const e of await this.fs.list([])) if (e.name.startsWith(TEMP_PREFIX)) await this.fs.remove([e.name]);
  }

  private async sweep(dir: string[], keep: ReadonlySet<string>): Promise<void> {
    for (const e of await this.fs.list(dir)) {
      const parts = [...dir, e.name];
      if (e.isDirectory()) await this.sweep(parts, keep);
      else if (!keep.has(parts.join('/'))) await this.fs.remove(parts);
    }
  }

  private async readIndex(): Promise<Index> {
    if (!(await this.fs.checkRoot(false))) return new Map();
    const opened = await this.fs.openFile([INDEX]);
    if (!opened) {
      await this.refuseUnrecorded();
      return new Map();
    }
    try {
      const st = await opened.fh.stat({ bigint: true });
      const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
      if (this.cached?.key === key) return this.cached.index;
      if (st.size > MAX_INDEX) throw new StoreDamagedError(`${this.fs.path([INDEX])} is larger than ${MAX_INDEX} bytes`);
      const index = parseIndex(await opened.fh.readFile(), this.fs.path([INDEX]));
      this.cached = { key, index };
      return index;
    } finally {
      await opened.fh.close();
    }
  }

  /** No index: only an empty directory (or one with our own transient files) is an empty store. */
  private async refuseUnrecorded(): Promise<void> {
    const found = (await this.fs.list([])).find((e) => e.name !== LOCK_NAME && !e.name.startsWith(TEMP_PREFIX));
    if (found) {
      throw new StoreDamagedError(
        `${this.fs.root} holds ${found.name} but no ${INDEX}: its rollback floors are unknown, and files the store did not record are never trusted — ` +
          `restore ${INDEX} from a backup, or empty the directory and import again (which starts the floors over from the bundle)`,
      );
    }
  }
}

interface PlannedFile {
  readonly gun: string;
  readonly parts: string[];
  readonly bytes: Buffer;
}

/** The index after `writes` (floors only go up; identical bytes are no change) and the files to write. */
function plan(current: Index, writes: readonly StoredWrite[], lost: ReadonlySet<string>): { next: Index; files: PlannedFile[] } {
  const next: Index = new Map([...current].map(([gun, roles]) => [gun, new Map(roles)]));
  const changed = new Map<string, PlannedFile>();
  for (const w of writes) {
    const roles = next.get(w.gun) ?? new Map<string, Entry>();
    const had = roles.get(w.role);
    if (had && w.version < had.version) continue; // never replace newer trust data with older
    const entry = { version: w.version, sha256: sha256(w.bytes) };
    const key = `${w.gun}\n${w.role}`;
    if (had && had.version === entry.version && had.sha256 === entry.sha256 && !lost.has(key)) continue;
    // a newer root whose timestamp/snapshot keys rotated drops their floors (TUF 5.3.11)
    if (w.role === ROOT && had && w.version > had.version) for (const r of w.resetFloors ?? []) roles.delete(r);
    roles.set(w.role, entry);
    next.set(w.gun, roles);
    changed.set(key, { gun: w.gun, parts: dataParts(w.gun, w.role, entry), bytes: Buffer.from(w.bytes) });
  }
  return { next, files: [...changed.values()] };
}

function serialize(index: Index): Buffer {
  const repositories = Object.fromEntries(
    [...index].sort(([a], [b]) => a.localeCompare(b)).map(([gun, roles]) => [gun, Object.fromEntries([...roles].sort(([a], [b]) => a.localeCompare(b)))]),
  );
  return Buffer.from(JSON.stringify({ format: FORMAT, repositories }, null, 1) + '\n');
}

function parseIndex(bytes: Buffer, path: string): Index {
  const damaged = (why: string, cause?: unknown) =>
    new StoreDamagedError(`${path} is damaged (${why}): restore it from a backup, or empty the directory and import again`, { cause });
  let doc: { format?: unknown; repositories?: unknown };
  try {
    doc = JSON.parse(bytes.toString('utf8')) as typeof doc;
  } catch (cause) {
    throw damaged('not JSON', cause);
  }
  if (typeof doc !== 'object' || doc === null || doc.format !== FORMAT) throw damaged(`not a ${FORMAT} index`);
  const repos = doc.repositories;
  if (typeof repos !== 'object' || repos === null || Array.isArray(repos)) throw damaged('no repositories');
  const index: Index = new Map();
  for (const [gun, roles] of Object.entries(repos)) {
    if (!isValidGun(gun) || !gun.split('/').every(isSafeComponent) || typeof roles !== 'object' || roles === null) throw damaged(`repository ${JSON.stringify(gun)}`);
    const m = new Map<string, Entry>();
    for (const [role, e] of Object.entries(roles as Record<string, Partial<Entry> | null>)) {
      const ok = STORED_ROLE_NAME.test(role) && Number.isSafeInteger(e?.version) && (e?.version as number) >= 0 && /^[0-9a-f]{64}$/.test(String(e?.sha256));
      if (!ok) throw damaged(`${gun} ${JSON.stringify(role)}`);
      m.set(role, { version: e?.version as number, sha256: e?.sha256 as string });
    }
    index.set(gun, m);
  }
  return index;
}

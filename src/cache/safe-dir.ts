// File access inside a directory that is a trust anchor (`trust.bundles`). Whoever can write there
// decides what trustgate trusts, so the directory must be writable by trustgate's user (or root)
// only — and then nobody else can swap a file or a symlink between a check and its use:
//
//   - the root, every directory and file under it: owned by trustgate's user or root, never group-
//     or world-writable; its ancestors likewise, except sticky directories (/tmp: others cannot
//     rename or remove what is not theirs). OpenSSH StrictModes applies the same rule to ~/.ssh.
//   - below the root nothing is a symlink: directories are checked with lstat, files are opened with
//     O_NOFOLLOW and checked again on the open descriptor (fstat).
//   - new files: an unpredictable temporary name, O_CREAT|O_EXCL|O_NOFOLLOW, mode 0644, fsync, then
//     rename(2) into place; new directories 0755. Every path is built from checked components.

import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { lstat, mkdir, open, readdir, realpath, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { UnsafeStoreError } from '../errors.js';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_DIRECTORY } = constants;
export const FILE_MODE = 0o644;
export const DIR_MODE = 0o755;
export const TEMP_PREFIX = '_tmp-';

/** A name from a repository or role name: no separators, no `.`/`..`, nothing hidden or empty. */
const COMPONENT = /^[a-z0-9][a-z0-9._:-]*$/;
/** The store's own names start with `_`, which no repository name component and no role does. */
const OWN_NAME = /^_[a-z0-9._-]+$/;

export function isSafeComponent(name: string): boolean {
  return name.length <= 255 && COMPONENT.test(name);
}

const missing = (err: unknown) => ['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '');

export class SafeDir {
  readonly root: string;

  constructor(
    root: string,
    /** The user trustgate runs as: the one owner besides root that the store accepts. */
    readonly uid: number,
  ) {
    this.root = resolve(root);
  }

  /** The absolute path of checked components under the root. */
  path(parts: readonly string[]): string {
    for (const p of parts) if (!isSafeComponent(p) && !OWN_NAME.test(p)) throw new UnsafeStoreError(`${JSON.stringify(p)} is not a name the store uses`);
    const path = join(this.root, ...parts);
    if (path !== this.root && !path.startsWith(this.root + sep)) throw new UnsafeStoreError(`${path} is outside ${this.root}`);
    return path;
  }

  private refuse(path: string, why: string): never {
    throw new UnsafeStoreError(
      `${path} ${why}: the trust store decides what is trusted, so it must be writable only by the user trustgate runs as (uid ${this.uid}) — ` +
        `fix it with chown and chmod go-w (e.g. chown -R <user> ${this.root} && chmod -R go-w ${this.root}), or run trustgate as the directory's owner`,
    );
  }

  /** Refuse `st` unless owned by us or root and (unless `sticky` is allowed) writable only by its owner. */
  check(path: string, st: Stats, stickyAllowed = false): void {
    if (st.uid !== this.uid && st.uid !== 0) this.refuse(path, `is owned by uid ${st.uid}, not by uid ${this.uid} or root`);
    const sticky = stickyAllowed && st.isDirectory() && (st.mode & 0o1000) !== 0;
    if ((st.mode & 0o022) !== 0 && !sticky) this.refuse(path, `is writable by its group or by others (mode ${(st.mode & 0o7777).toString(8)})`);
  }

  /**
   * Check the root and the directories it hangs from, as configured and as resolved (the root may be
   * reached through symlinks that an owner of those directories placed). False if it does not exist.
   */
  async checkRoot(create: boolean): Promise<boolean> {
    if (!isAbsolute(this.root)) throw new UnsafeStoreError(`${this.root} is not an absolute path`);
    let real: string;
    try {
      real = await realpath(this.root);
    } catch (err) {
      if (!missing(err) || !create) {
        if (missing(err)) return false;
        throw err;
      }
      await mkdir(this.root, { recursive: true, mode: DIR_MODE });
      real = await realpath(this.root);
    }
    for (const chain of new Set([this.root, real])) await this.checkAncestors(chain);
    const st = await stat(real);
    if (!st.isDirectory()) this.refuse(this.root, 'is not a directory');
    this.check(this.root, st);
    return true;
  }

  private async checkAncestors(path: string): Promise<void> {
    for (let p = dirname(path), last = ''; p !== last; last = p, p = dirname(p)) this.check(p, await stat(p), true);
  }

  /**
   * lstat each directory of `dirs` below the root: each must be a real directory we own. Missing ones
   * are created (0755) when `create`, else the answer is false.
   */
  async checkDirs(dirs: readonly string[], create: boolean): Promise<boolean> {
    for (let i = 1; i <= dirs.length; i++) {
      const path = this.path(dirs.slice(0, i));
      let st = await lstat(path).catch((err: unknown) => (missing(err) ? undefined : Promise.reject(err)));
      if (!st) {
        if (!create) return false;
        await mkdir(path, { mode: DIR_MODE }).catch((err: NodeJS.ErrnoException) => (err.code === 'EEXIST' ? undefined : Promise.reject(err)));
        st = await lstat(path);
      }
      if (st.isSymbolicLink()) this.refuse(path, 'is a symlink');
      if (!st.isDirectory()) this.refuse(path, 'is not a directory');
      this.check(path, st);
    }
    return true;
  }

  /** Open a file under the root without following a symlink; undefined if it does not exist. */
  async openFile(parts: readonly string[]): Promise<{ fh: FileHandle; st: Stats } | undefined> {
    if (!(await this.checkDirs(parts.slice(0, -1), false))) return undefined;
    const path = this.path(parts);
    let fh: FileHandle;
    try {
      fh = await open(path, O_RDONLY | O_NOFOLLOW);
    } catch (err) {
      if (missing(err)) return undefined;
      if ((err as NodeJS.ErrnoException).code === 'ELOOP') this.refuse(path, 'is a symlink');
      throw err;
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) this.refuse(path, 'is not a regular file');
      this.check(path, st);
      return { fh, st };
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /** A whole file, at most `maxBytes` (else `tooLarge` is thrown). */
  async readFile(parts: readonly string[], maxBytes: number, tooLarge: () => Error): Promise<Buffer | undefined> {
    const opened = await this.openFile(parts);
    if (!opened) return undefined;
    try {
      if (opened.st.size > maxBytes) throw tooLarge();
      const b = await opened.fh.readFile();
      if (b.length > maxBytes) throw tooLarge();
      return b;
    } finally {
      await opened.fh.close();
    }
  }

  /** Write `bytes` to `parts` atomically: a fresh temporary file in the root, fsynced, renamed. */
  async writeFile(parts: readonly string[], bytes: Buffer): Promise<void> {
    await this.checkDirs(parts.slice(0, -1), true);
    const target = this.path(parts);
    const tmp = this.path([TEMP_PREFIX + randomBytes(16).toString('hex')]);
    const fh = await open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, FILE_MODE);
    try {
      try {
        await fh.writeFile(bytes);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, target);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
  }

  /** Make renames in a directory durable. */
  async syncDir(dirs: readonly string[]): Promise<void> {
    const fh = await open(this.path(dirs), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  /** The entries of a directory under the root (lstat types; symlinks are not followed). */
  async list(dirs: readonly string[]) {
    return readdir(this.path(dirs), { withFileTypes: true }).catch((err: unknown) => (missing(err) ? [] : Promise.reject(err)));
  }

  /** Remove a file or symlink (never what a symlink points to). */
  async remove(parts: readonly string[]): Promise<void> {
    await unlink(this.path(parts)).catch((err: unknown) => (missing(err) ? undefined : Promise.reject(err)));
  }
}

// The lock that serializes writers of one trust store directory (imports, and serve's own writes):
// `<dir>/_lock`, created with O_CREAT|O_EXCL (git's index.lock), holding who took it. A lock whose
// process is gone (same host, no such pid) is stale and is taken over; one held by a live process, or
// by another host, is waited for — up to a deadline, then the error names the holder.
//
// Taking over a stale lock unlinks it only if it is still the same file (inode) that was judged
// stale; two processes taking over the same stale lock within microseconds of each other could
// still both proceed — a window only a crash followed by two simultaneous writers can open.

import { hostname } from 'node:os';
import { constants } from 'node:fs';
import { lstat, open, unlink } from 'node:fs/promises';
import { StoreLockedError } from '../errors.js';
import { FILE_MODE, type SafeDir } from './safe-dir.js';

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;
export const LOCK_NAME = '_lock';

export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
}

export interface LockOptions {
  /** How long to wait for another holder (default 5 minutes: an import of many repositories). */
  readonly timeoutMs?: number;
  /** Called once when the lock is held by someone else and we start waiting. */
  readonly onWait?: (holder: LockHolder | undefined) => void;
}

const POLL_MS = 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, someone else's
  }
}

export class DirectoryLock {
  constructor(
    private readonly dir: SafeDir,
    private readonly opts: LockOptions = {},
  ) {}

  /** Take the lock (waiting for another holder); the result releases it. */
  async acquire(): Promise<() => Promise<void>> {
    const path = this.dir.path([LOCK_NAME]);
    const deadline = performance.now() + (this.opts.timeoutMs ?? 300_000);
    let waited = false;
    for (;;) {
      if (await this.tryCreate(path)) return () => unlink(path).catch(() => undefined);
      const held = await this.holder();
      if (held && held.holder && held.holder.host === hostname() && !alive(held.holder.pid)) {
        // stale: its process is gone; remove it only if it is still the file we read
        const now = await lstat(path).catch(() => undefined);
        if (now?.ino === held.ino) await unlink(path).catch(() => undefined);
        continue;
      }
      if (!waited) this.opts.onWait?.(held?.holder);
      waited = true;
      if (performance.now() > deadline) {
        const who = held?.holder ? `process ${held.holder.pid} on ${held.holder.host} since ${held.holder.since}` : 'another process';
        throw new StoreLockedError(`${path} is held by ${who}: if no trustgate import or serve is writing there, remove it`);
      }
      await sleep(POLL_MS);
    }
  }

  private async tryCreate(path: string): Promise<boolean> {
    let fh;
    try {
      fh = await open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, FILE_MODE);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
    try {
      const holder: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
      await fh.writeFile(JSON.stringify(holder));
    } finally {
      await fh.close();
    }
    return true;
  }

  /** Who holds the lock (undefined holder if unreadable: a lock being written, or foreign). */
  private async holder(): Promise<{ holder: LockHolder | undefined; ino: number } | undefined> {
    const opened = await this.dir.openFile([LOCK_NAME]);
    if (!opened) return undefined;
    try {
      const text = (await opened.fh.readFile()).subarray(0, 4096).toString('utf8');
      let holder: LockHolder | undefined;
      try {
        const doc = JSON.parse(text) as Partial<LockHolder>;
        if (Number.isSafeInteger(doc.pid) && typeof doc.host === 'string') holder = { pid: doc.pid as number, host: doc.host, since: String(doc.since) };
      } catch {
        holder = undefined; // being written right now, or not ours: wait for it
      }
      return { holder, ino: opened.st.ino };
    } finally {
      await opened.fh.close();
    }
  }
}

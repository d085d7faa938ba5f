// With `trust.bundles` and no Redis, an import commits by renaming the directory's `_index.json` into
// place (directory-store.ts), so `serve` learns of it by watching that name: at once through the
// kernel's file events (fs.watch on the directory), and, where a file system gives none (network file
// systems), by comparing the index's stat every second (fs.watchFile). Either way the index is read
// and compared per repository, so only the repositories whose recorded files changed are forgotten —
// a refresh of this process that wrote the directory itself costs at most one more refresh.

import { watch, watchFile, unwatchFile, type FSWatcher, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { DirectoryTrustStore } from './directory-store.js';

const INDEX = '_index.json';
// Sigstore tag records (sigstore/tag-history-dir.ts), written by imports alongside the index: a change
// forgets every answer (imports are rare; the records are not split by repository here)
const SIGSTORE_TAGS = '_sigstore-tags.json';
const POLL_INTERVAL_MS = 1_000;

export interface IndexWatchOptions {
  readonly dir: string;
  readonly store: DirectoryTrustStore;
  /** Forget what this process verified of `guns`, or of every repository. */
  readonly forget: (guns?: readonly string[]) => void;
  readonly logger?: Logger | undefined;
}

export class BundleIndexWatch {
  private last = new Map<string, string>();
  private watcher: FSWatcher | undefined;
  /** Checks run one at a time, in order. */
  private checking: Promise<void> = Promise.resolve();
  private readonly indexPath: string;
  private readonly tagsPath: string;
  private readonly onPoll = () => this.changed();
  // a missing file is reported once with zeroed stats (Node's watchFile on ENOENT): not a change
  private readonly onTagsPoll = (now: Stats, before: Stats) => {
    if (now.mtimeMs !== before.mtimeMs || now.ino !== before.ino) this.tagsChanged();
  };

  private constructor(private readonly opts: IndexWatchOptions) {
    this.indexPath = join(opts.dir, INDEX);
    this.tagsPath = join(opts.dir, SIGSTORE_TAGS);
  }

  /** Watch from what the index records now. */
  static async start(opts: IndexWatchOptions): Promise<BundleIndexWatch> {
    const w = new BundleIndexWatch(opts);
    w.last = await opts.store.fingerprints();
    try {
      w.watcher = watch(opts.dir, { persistent: false }, (_event, name) => {
        if (name === null || name === INDEX) w.changed();
        if (name === null || name === SIGSTORE_TAGS) w.tagsChanged();
      });
      w.watcher.on('error', (err) => opts.logger?.warn({ dir: opts.dir, err: err.message }, 'trust.bundles: file events failed: imports are noticed by polling'));
    } catch (err) {
      opts.logger?.warn({ dir: opts.dir, err: (err as Error).message }, 'trust.bundles: no file events: imports are noticed by polling');
    }
    watchFile(w.indexPath, { interval: POLL_INTERVAL_MS, persistent: false }, w.onPoll);
    watchFile(w.tagsPath, { interval: POLL_INTERVAL_MS, persistent: false }, w.onTagsPoll);
    return w;
  }

  close(): void {
    this.watcher?.close();
    unwatchFile(this.indexPath, this.onPoll);
    unwatchFile(this.tagsPath, this.onTagsPoll);
  }

  private tagsChanged(): void {
    this.checking = this.checking.then(() => {
      this.opts.logger?.info('Sigstore tag records imported: forgetting every verified answer');
      this.opts.forget();
    });
  }

  private changed(): void {
    this.checking = this.checking.then(() => this.compare());
  }

  private async compare(): Promise<void> {
    let now: Map<string, string>;
    try {
      now = await this.opts.store.fingerprints();
    } catch (err) {
      // a damaged or unsafe directory: nothing verified from it before stands (the next pull says why)
      this.opts.logger?.warn({ dir: this.opts.dir, err: (err as Error).message }, 'trust.bundles: the index cannot be read: forgetting every verified answer');
      this.last = new Map();
      return this.opts.forget();
    }
    const guns = [...new Set([...now.keys(), ...this.last.keys()])].filter((gun) => now.get(gun) !== this.last.get(gun));
    this.last = now;
    if (guns.length === 0) return;
    this.opts.logger?.info({ repositories: guns }, 'trust data imported: forgetting what this replica verified of these repositories');
    this.opts.forget(guns);
  }
}

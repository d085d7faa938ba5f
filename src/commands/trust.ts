// `trustgate trust export` and `trustgate trust import`: the command line of the air-gap use cases
// (bundle/airgap.ts) — options in, result lines and exit codes out, progress on a terminal.
//   exit 0  done;  1  a verdict (something did not verify, or the configuration is wrong);  2  a fault

import { readFile } from 'node:fs/promises';
import { exportBundle, importBundle, type ExportReport, type ImportResult } from '../bundle/airgap.js';
import { openBundle } from '../bundle/bundle.js';
import { DirectoryTrustStore } from '../cache/directory-store.js';
import { announceImport } from '../cache/import-notices.js';
import { openRedis, RedisTrustStore } from '../cache/redis.js';
import { isAtomicStore } from '../cache/staging-store.js';
import type { TrustStore } from '../cache/trust-store.js';
import { DirectoryTagRecords } from '../sigstore/tag-history-dir.js';
import { RedisTagHistory, redisTagRecords } from '../sigstore/tag-history-redis.js';
import type { TagRecordStore } from '../sigstore/tag-history.js';
import { loadConfig, type Config } from '../config/config.js';
import { ConfigError, TrustgateError } from '../errors.js';
import type { Output } from './check.js';
import type { Progress as WorkProgress } from '../bundle/progress.js';
import { progressOn, type Progress, type ProgressStream } from './progress.js';

export interface ExportOptions {
  readonly out: string;
  readonly config?: string;
  readonly notary?: string;
  readonly ca?: string;
  /** Also export the signed images of the named tags (manifests and blobs, in the containers dir: layout). */
  readonly images?: boolean;
  /** The registry to export images from (default: the configured upstream's, else the registry's own). */
  readonly registry?: string;
}

/** Output, and where a progress line goes (default: stderr, when stdout and stderr are terminals). */
export interface TrustOutput extends Output {
  readonly progress?: ProgressStream;
}

interface ProgressLine extends WorkProgress {
  /** Print a result line without tearing the progress line. */
  line(write: () => void): void;
  /** Take the line away; `completed`: show every repository done first. */
  finish(completed?: boolean): void;
}

/** The use cases' progress (repositories, items, bytes) as the one progress line of long commands. */
function progressLine(io: TrustOutput, items: string): ProgressLine {
  const stream = io.progress ?? (process.stdout.isTTY ? process.stderr : undefined);
  let line: Progress | undefined;
  let finished = false;
  const state = { done: 0, total: 0, gun: '', items: 0, bytes: 0 };
  const update = () => line?.update({ done: state.done, current: `${state.items} ${items} · ${state.gun}`, bytes: state.bytes });
  return {
    repository(gun, index, total) {
      line ??= progressOn(stream, 'repositories', total);
      Object.assign(state, { gun, done: index - 1, total });
      update();
    },
    bytes(n) {
      state.bytes += n;
      update();
    },
    item() {
      state.items++;
      update();
    },
    line: (write) => (line && !finished ? line.line(write) : write()),
    finish: (completed = false) => {
      if (completed && !finished) {
        state.done = state.total;
        update();
      }
      finished = true;
      line?.finish();
    },
  };
}

export async function runExport(refs: readonly string[], opts: ExportOptions, io: TrustOutput): Promise<number> {
  const progress = progressLine(io, 'blobs');
  const say = (line: string) => progress.line(() => io.out(line));
  try {
    const config = await loadConfig(opts.config); // the embedded defaults without a file
    const ca = opts.ca ? await readFile(opts.ca, 'utf8') : undefined;
    const request = { out: opts.out, config, notary: opts.notary, ca, images: opts.images, registry: opts.registry };
    const r = await exportBundle(refs, request, { report: (report) => say(describe(report)), progress: opts.images ? progress : undefined });
    const what = r.images > 0 ? `, ${r.images} image(s)` : '';
    progress.finish(true);
    say(`wrote ${r.kind === 'tar' ? 'bundle' : 'bundle directory'} ${opts.out} (${r.repositories} repositories, ${r.trustFiles} trust files${what})`);
    return 0;
  } catch (err) {
    progress.finish();
    return failed(io, 'export', err);
  }
}

function describe(r: ExportReport): string {
  if (r.kind === 'repository') {
    const left = r.skipped.length > 0 ? `; left out as Notary clients do: ${r.skipped.join(', ')}` : '';
    return `${r.gun}: root v${r.rootVersion}, ${r.targetsFiles} targets file(s), trust data valid until ${r.validUntil.toISOString()}${left}`;
  }
  const sigs = r.signatureArtifacts > 0 ? `, ${r.signatureArtifacts} signature artifact(s)` : '';
  return `${r.gun}:${r.tag}: image ${r.digest} (${r.signedBy}): ${r.manifests} manifest(s), ${r.blobs} blob(s), ${(r.bytes / 1048576).toFixed(1)} MiB${sigs}`;
}

/** Report a failure: exit 1 for a verdict (a TrustgateError: its reason and code), 2 for a fault. */
function failed(io: Output, verb: string, err: unknown): number {
  if (err instanceof TrustgateError) {
    io.err(`${verb} failed: ${err.message} [${err.code}]`);
    return 1;
  }
  io.err(`${verb} failed: ${(err as Error).message}`);
  return 2;
}

interface Target {
  readonly store: TrustStore;
  readonly tags: TagRecordStore;
  readonly where: string;
  /** Tell running replicas which repositories changed (Redis); the number told. */
  announce?(guns: readonly string[]): Promise<number>;
  close(): Promise<void>;
}

async function openTarget(config: Config, io: Output): Promise<Target> {
  if (config.redis) {
    const redis = await openRedis(config.redis).catch((cause: unknown) => {
      throw new ConfigError(`Redis is not reachable: ${(cause as Error).message}`, { cause });
    });
    const tags = redisTagRecords(new RedisTagHistory(redis, config.redisPrefix));
    return {
      store: new RedisTrustStore(redis, config.redisPrefix),
      tags,
      where: 'Redis',
      announce: (guns) => announceImport(redis, config.redisPrefix, guns),
      close: async () => void (await redis.quit()),
    };
  }
  const dir = config.trust.bundlesDir;
  if (!dir) throw new ConfigError('import needs a store: configure redis, or trust.bundles (a directory) for the in-process cache');
  const onWait = (h: { pid: number; host: string; since: string } | undefined) =>
    io.err(`waiting for another import into ${dir} to finish${h ? ` (process ${h.pid} on ${h.host}, since ${h.since})` : ''}…`);
  const store = new DirectoryTrustStore(dir, { onWait });
  await store.check();
  return { store, tags: new DirectoryTagRecords(dir, (fn) => store.exclusive(fn)), where: dir, close: async () => {} };
}

export async function runImport(source: string, opts: { config?: string }, io: TrustOutput): Promise<number> {
  const progress = progressLine(io, 'files');
  let target: Target | undefined;
  try {
    const config = await loadConfig(opts.config);
    const bundle = await openBundle(source);
    target = await openTarget(config, io);
    let result: ImportResult;
    try {
      result = await importBundle(bundle, { config, store: target.store, tags: target.tags }, { progress });
      progress.finish(true);
    } finally {
      progress.finish();
    }
    const code = report(result, target.where, io);
    if (code === 0) await announce(target, result, io);
    return code;
  } catch (err) {
    progress.finish();
    const code = failed(io, 'import', err);
    if (target && !isAtomicStore(target.store)) {
      io.err(`repositories are written to ${target.where} one after another: some may have been written (all verified data; pulls fail closed on a partial set) — fix the cause and import again`);
    } else if (target) {
      io.err(`nothing was written to ${target.where}: it holds what it held before`);
    }
    return code;
  } finally {
    await target?.close();
  }
}

/** Running replicas forget what they verified of the imported repositories now, not at their next refresh. */
async function announce(target: Target, result: ImportResult, io: Output): Promise<void> {
  if (!target.announce) return; // trust.bundles: serve watches the directory's index
  const guns = result.verified.map((r) => r.gun);
  try {
    const told = await target.announce(guns);
    io.out(`announced to running replicas: they verify these repositories again now (${told} subscriber(s) reached)`);
  } catch (err) {
    io.err(`the import is written, but running replicas could not be told (${(err as Error).message}): they use it within a few seconds if the store's import counter was raised, else at their next refresh — or at once on SIGHUP`);
  }
}

function report(result: ImportResult, where: string, io: Output): number {
  for (const note of result.notes) io.err(`note: ${note}`);
  if (result.refused.length > 0) {
    for (const { gun, error } of result.refused) io.err(`refused: ${gun}: ${error.message} [${error.code}]`);
    io.err(`the bundle was not imported: nothing was written to ${where}`);
    return 1;
  }
  for (const r of result.verified) {
    const stale = r.underGrace ? ' — UNDER OFFLINE GRACE (expired timestamp/snapshot accepted)' : '';
    io.out(`${r.gun}: verified (root v${r.rootVersion}); accepted until ${r.acceptedUntil.toISOString()}${stale}`);
  }
  for (const s of result.signatures) {
    io.out(`${s.gun}:${s.tag}: Sigstore signature of ${s.digest} verified (${s.signers.join(', ')}); recorded as the tag's newest signed digest`);
  }
  const tags = result.signatures.length > 0 ? ` and ${result.signatures.length} signed tag(s)` : '';
  io.out(`imported ${result.verified.length} repositories${tags} into ${where}`);
  return 0;
}

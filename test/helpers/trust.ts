import type { Test } from 'tap';
import { MemoryTrustStore, type TrustStore } from '../../src/cache/trust-store.js';
import type { MetadataFetcher } from '../../src/notary/remote.js';
import { TrustUpdater, type UpdaterEvent } from '../../src/notary/updater.js';
import { NO_PINNING, TrustedMetadataSet, type TrustPinning } from '../../src/trust/index.js';
import { RepoSimulator, type SimKey } from './simulator.js';

export interface UpdaterSetup {
  store?: TrustStore;
  pinning?: TrustPinning;
  clock?: () => Date;
  events?: UpdaterEvent[];
  maxStalenessMs?: number;
}

export function updaterFor(fetcher: MetadataFetcher, o: UpdaterSetup = {}): TrustUpdater {
  return new TrustUpdater({
    fetcher,
    store: o.store ?? new MemoryTrustStore(),
    pinning: o.pinning ?? NO_PINNING,
    ...(o.clock ? { clock: o.clock } : {}),
    ...(o.maxStalenessMs ? { maxStalenessMs: o.maxStalenessMs } : {}),
    onEvent: (e) => o.events?.push(e),
  });
}

/** Await a rejection and assert its class and code (never its message). */
export async function rejectsWith(
  t: Test,
  p: Promise<unknown>,
  cls: abstract new (...args: never[]) => Error,
  code: string,
): Promise<Error & { code?: string; role?: string; cause?: unknown }> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e as Error & { code?: string },
  );
  t.ok(err instanceof cls, `expected ${cls.name}, got ${err === undefined ? 'success' : `${err.constructor.name}: ${err.message}`}`);
  t.equal(err?.code, code, 'error code');
  return err ?? new Error('resolved');
}

/** Assert that `fn` throws an error of class `cls` with `code` (never its message). */
export function throwsWith(
  t: Test,
  fn: () => unknown,
  cls: abstract new (...args: never[]) => Error,
  code: string,
): Error & { code?: string; role?: string; cause?: unknown } {
  let err: (Error & { code?: string }) | undefined;
  try {
    fn();
  } catch (e) {
    err = e as Error & { code?: string };
  }
  t.ok(err instanceof cls, `expected ${cls.name}, got ${err === undefined ? 'success' : `${err.constructor.name}: ${err.message}`}`);
  t.equal(err?.code, code, 'error code');
  return err ?? new Error('returned');
}

/**
 * The trust engine alone, fed a simulator's published files in notary's order up to `targets`
 * (no updater, no store): for tests that aim at one check of TrustedMetadataSet.
 */
export function setThroughTargets(sim: RepoSimulator, pinning: TrustPinning = NO_PINNING): TrustedMetadataSet {
  const file = (name: string) => {
    const b = sim.files.get(name);
    if (!b) throw new Error(`the simulator has not published ${name}`);
    return b;
  };
  const set = TrustedMetadataSet.fromRoot(file('root'), { gun: sim.gun, now: sim.now, pinning }, false);
  set.updateTimestamp(file('timestamp'), 0);
  set.updateSnapshot(file('snapshot'), 0);
  set.updateTargets(file('targets'), 0);
  return set;
}

/** A repository (one signed tag, root key k1) whose root v1 and trust data are trusted in `store`. */
export async function trustedRepo(): Promise<{ sim: RepoSimulator; store: MemoryTrustStore; k1: SimKey }> {
  const sim = new RepoSimulator();
  sim.addTarget('targets', 'v1', 'manifest v1');
  sim.publish();
  const store = new MemoryTrustStore();
  await updaterFor(sim, { store }).refresh(sim.gun);
  return { sim, store, k1: sim.keys.root[0] as SimKey };
}

import type { Test } from 'tap';
import { MemoryTrustStore, type TrustStore } from '../../src/cache/trust-store.js';
import type { MetadataFetcher } from '../../src/notary/remote.js';
import { TrustUpdater, type UpdaterEvent } from '../../src/notary/updater.js';
import { NO_PINNING, type TrustPinning } from '../../src/trust/index.js';

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

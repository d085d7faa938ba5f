// The shared store (Redis) with this replica's own memory beside it. Trust is bootstrapped (TOFU)
// only on an authoritative "never seen": the store answered, holds nothing for the repository, holds
// no part of it, and no replica can still be writing back after a loss. A store that is down, slow or
// in doubt is a StoreUnavailableError — unless this replica itself remembers the repository: then it
// goes on from its memory (the roots it trusts, the floors it has seen), never from nothing.
//
// The memory also repairs the store: a repository whose stored root or floors are behind what this
// replica remembers (restart without persistence, FLUSHALL, failover to a lagging replica, eviction)
// is written back — roots and floors only go up; another root of the same version is never
// overwritten — and the loss is logged and counted.

import { StoreUnavailableError } from '../errors.js';
import { ROOT, SNAPSHOT, TIMESTAMP } from '../trust/metadata.js';
import { StoreEpoch } from './epoch.js';
import type { RedisHealth } from './health.js';
import type { RedisTrustStore, StoredState } from './redis.js';
import { MemoryTrustStore, type TrustStore } from './trust-store.js';

export { RedisHealth } from './health.js';
export { ResilientResultCache } from './resilient-results.js';

export type TrustStateEvent =
  | { type: 'store-data-loss'; gun?: string; reason: string }
  | { type: 'store-root-conflict'; gun: string; reason: string }
  | { type: 'store-write-back'; repositories: number }
  | { type: 'store-write-back-failed'; gun: string; err: unknown };

export interface ResilientOptions {
  readonly clock?: () => number;
  /** Epoch check interval and first-contact window (see epoch.ts). */
  readonly epochIntervalMs?: number;
  readonly epochWindowMs?: number;
  readonly onEvent?: (e: TrustStateEvent) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class ResilientTrustStore implements TrustStore {
  /** What this replica itself verified: its trusted roots, floors and files, per repository served. */
  readonly memory = new MemoryTrustStore();
  /** Repositories whose shared copy may lag this replica (a write failed or went unacknowledged). */
  private readonly pending = new Set<string>();
  readonly epoch: StoreEpoch;
  /** Times the store was found to have lost data (cumulative). */
  dataLoss = 0;

  constructor(
    private readonly shared: RedisTrustStore,
    private readonly health: RedisHealth,
    private readonly opts: ResilientOptions = {},
  ) {
    this.epoch = new StoreEpoch(shared, health, {
      intervalMs: opts.epochIntervalMs ?? 1_000,
      windowMs: opts.epochWindowMs ?? 3_000,
      clock: opts.clock ?? Date.now,
      onLoss: (reason) => this.storeLostData(reason),
    });
  }

  /** Start watching the store's epoch. */
  start(): void {
    this.epoch.start();
  }

  /** The store answers again: write back what it missed, and look for a loss at once. */
  async recovered(): Promise<void> {
    for (const gun of [...this.pending]) await this.writeBack(gun);
    await this.epoch.check().catch(() => {});
  }

  /**
   * A write the store did not get onto enough replicas. If a failover loses it, the next read of
   * the repository finds the store behind this replica and writes it back (not counted as a loss).
   */
  unacknowledged(gun: string): void {
    this.pending.add(gun);
  }

  async getVersions(gun: string): Promise<Map<string, number>> {
    const local = await this.memory.getVersions(gun);
    const remembered = local.size > 0; // floors this replica verified itself
    let state: StoredState;
    try {
      state = await this.health.run(() => this.shared.readState(gun));
    } catch (err) {
      if (!(err instanceof StoreUnavailableError) || !remembered) throw err;
      return local; // this replica's own floors: never lower than what it has seen
    }
    if (remembered) await this.reconcile(gun, local, state);
    else this.assertWhole(gun, state);
    // a shared floor of 0 is a floor too: kept when this replica has none for the role (and a
    // shared value that is not a number never replaces one this replica holds)
    for (const [role, v] of state.versions) if (!local.has(role) || (local.get(role) as number) < v) local.set(role, v);
    return local;
  }

  async getMetadata(gun: string, role: string): Promise<Buffer | undefined> {
    if (role === ROOT) return this.getRoot(gun);
    try {
      const shared = await this.health.run(() => this.shared.getMetadata(gun, role));
      if (shared) return shared;
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
    }
    return this.memory.getMetadata(gun, role); // re-verified by the caller like any stored bytes
  }

  async putMetadata(gun: string, role: string, bytes: Buffer, version: number, resetFloors: readonly string[] = []): Promise<void> {
    if ((await this.memory.getVersions(gun)).get(role) === version && (await this.memory.getMetadata(gun, role))?.equals(bytes)) return;
    if (role === ROOT && !this.memory.hasRoot(gun)) {
      // this replica's first root for the repository: the shared store decides which root every
      // replica trusts (a different root stored meanwhile wins; this refresh fails and reads it)
      await this.health.run(() => this.shared.putMetadata(gun, ROOT, bytes, version, resetFloors));
      await this.memory.putMetadata(gun, ROOT, bytes, version, resetFloors);
      return;
    }
    await this.memory.putMetadata(gun, role, bytes, version, resetFloors);
    try {
      await this.health.run(() => this.shared.putMetadata(gun, role, bytes, version, resetFloors));
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      this.pending.add(gun); // written back when the store answers again
    }
  }

  async close(): Promise<void> {
    this.epoch.stop();
    this.health.close();
    await this.shared.close();
  }

  /** This replica's trust anchor first; else the store's root, if its answer is authoritative. */
  private async getRoot(gun: string): Promise<Buffer | undefined> {
    const local = await this.memory.getMetadata(gun, ROOT);
    if (local) return local; // the store never replaces a root this replica trusts
    const state = await this.health.run(() => this.shared.readState(gun));
    this.assertWhole(gun, state);
    if (state.root) return state.root;
    const wait = await this.epoch.firstContactDelay();
    if (wait <= 0) return undefined;
    // the store is new or lost data moments ago: give running replicas the time to write back
    await sleep(wait);
    const again = await this.health.run(() => this.shared.readState(gun));
    this.assertWhole(gun, again);
    if (!again.root && (await this.epoch.firstContactDelay()) > 0) {
      throw new StoreUnavailableError(this.health.describe, `the store lost its data moments ago: ${gun} cannot be trusted on first use yet`);
    }
    return again.root;
  }

  /** Part of a repository's state without the rest is a store that lost data: never a first contact. */
  private assertWhole(gun: string, state: StoredState): void {
    const partial = state.root ? !state.versions.has(ROOT) : state.versions.size > 0;
    if (!partial) return;
    throw new StoreUnavailableError(
      this.health.describe,
      `holds only part of the trust state of ${gun} (${state.root ? 'a root without its floors' : 'floors without a root'}): it lost data; a replica that remembers the repository writes it back, otherwise remove the repository's keys to start over`,
    );
  }

  /** Compare the store with this replica's memory of `gun`; write back what the store lost. */
  private async reconcile(gun: string, local: Map<string, number>, state: StoredState): Promise<void> {
    const localRoot = local.get(ROOT) ?? 0;
    const sharedRoot = state.root ? (state.versions.get(ROOT) ?? 0) : 0;
    if (sharedRoot > localRoot) return; // another replica rotated: this one follows at its refresh
    const trusted = await this.memory.getMetadata(gun, ROOT);
    if (sharedRoot === localRoot && state.root && trusted && !state.root.equals(trusted)) {
      this.opts.onEvent?.({ type: 'store-root-conflict', gun, reason: `the store holds another root version ${sharedRoot} than the one this replica trusts` });
      return;
    }
    const behind = sharedRoot < localRoot || [...local].some(([role, v]) => v > (state.versions.get(role) ?? 0));
    if (!behind) return;
    if (!this.pending.has(gun)) {
      this.dataLoss++;
      this.opts.onEvent?.({ type: 'store-data-loss', gun, reason: `the store is behind this replica for ${gun} (root ${sharedRoot}, remembered ${localRoot})` });
    }
    await this.writeBack(gun);
  }

  private async storeLostData(reason: string): Promise<void> {
    this.dataLoss++;
    this.opts.onEvent?.({ type: 'store-data-loss', reason });
    let n = 0;
    for (const gun of this.memory.repositories()) if (await this.writeBack(gun)) n++;
    this.opts.onEvent?.({ type: 'store-write-back', repositories: n });
  }

  /** Write this replica's root, floors and files of `gun` back; each only goes up. */
  private async writeBack(gun: string): Promise<boolean> {
    const floors = await this.memory.getVersions(gun);
    const root = await this.memory.getMetadata(gun, ROOT);
    try {
      // replacing an older root drops the timestamp/snapshot floors it held: they are written back
      // below from this replica's own, which belong to the newer root's keys
      if (root) await this.health.run(() => this.shared.putMetadata(gun, ROOT, root, floors.get(ROOT) ?? 0, [TIMESTAMP, SNAPSHOT]));
      for (const [role, v] of floors) {
        const bytes = role === ROOT ? undefined : await this.memory.getMetadata(gun, role);
        if (bytes) await this.health.run(() => this.shared.putMetadata(gun, role, bytes, v));
      }
      this.pending.delete(gun);
      return true;
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      this.pending.add(gun);
      this.opts.onEvent?.({ type: 'store-write-back-failed', gun, err });
      return false;
    }
  }
}

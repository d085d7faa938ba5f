// Detecting a shared store that lost its data. The store carries an epoch marker, created on first
// use and never rewritten. A replica that saw epoch E and later finds none, or another one, knows the
// store lost data (restarted empty, FLUSHALL, failed over to a replica that lagged): it writes back
// every root and floor it remembers.
//
// "Nothing stored for this repository" is an authoritative never-seen only once every running
// replica had the chance to write back: first contacts wait until the epoch is `windowMs` old (by the
// store's own clock, so replicas' clock skew does not matter). A brand-new store pays that wait once.

import { randomUUID } from 'node:crypto';
import type { RedisHealth } from './health.js';
import type { RedisTrustStore } from './redis.js';

export interface EpochOptions {
  /** How often every replica checks the marker. */
  readonly intervalMs: number;
  /** How long after the marker's creation first contacts wait (a few check intervals). */
  readonly windowMs: number;
  readonly clock: () => number;
  /** The store lost data: write back what this replica knows. */
  readonly onLoss: (reason: string) => Promise<void>;
}

export class StoreEpoch {
  private known: string | undefined;
  private quarantineUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;

  constructor(
    private readonly store: RedisTrustStore,
    private readonly health: RedisHealth,
    private readonly opts: EpochOptions,
  ) {}

  start(): void {
    if (this.timer) return;
    const tick = () => void this.check().catch(() => {}); // unreachable: the health probe reports it
    this.timer = setInterval(tick, this.opts.intervalMs);
    this.timer.unref();
    tick();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * How long (ms) a first contact must still wait before "nothing stored" is authoritative. Throws
   * StoreUnavailableError when the marker cannot be read.
   */
  async firstContactDelay(): Promise<number> {
    if (this.known === undefined) await this.check();
    return Math.max(0, this.quarantineUntil - this.opts.clock());
  }

  /** Read (or create) the marker once; concurrent callers share one read. */
  check(): Promise<void> {
    this.checking ??= this.readMarker().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async readMarker(): Promise<void> {
    const e = await this.health.run(() => this.store.epoch(randomUUID()));
    const previous = this.known;
    this.known = e.id;
    const remaining = e.since + this.opts.windowMs - e.serverNow;
    this.quarantineUntil = Math.max(this.quarantineUntil, this.opts.clock() + remaining);
    if (previous !== undefined && previous !== e.id) {
      await this.opts.onLoss(`the store's epoch changed from ${previous} to ${e.id}: it lost its data`);
    }
  }
}

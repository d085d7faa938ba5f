// Whether the shared store answers now. Any failed or slow command marks it down; it is up again on
// the next command that succeeds — a probe (PING) runs while it is down, so a stall that never drops
// the connection (a slow fsync, DEBUG SLEEP, a long script) recovers as soon as Redis answers, not
// only when ioredis reconnects. While it is down, commands are not sent at all: nothing waits on it
// (except a process that just started: its commands wait up to 2 s for the first connection).

import { StoreUnavailableError } from '../errors.js';
import type { StoreClient } from './redis-connect.js';

export interface StoreHealthEvents {
  onDown?(err: unknown): void;
  onUp?(): void;
}

/** How long a command waits for the very first connection (start-up), then fails as unavailable. */
const FIRST_READY_WAIT_MS = 2_000;

export class RedisHealth {
  private upNow: boolean;
  private everUp: boolean;
  private readonly firstReady: Promise<void>;
  private probe: NodeJS.Timeout | undefined;
  private downCause: unknown;
  /** Failures that marked the store down (cumulative). */
  errors = 0;

  constructor(
    readonly client: StoreClient,
    /** Names the store in errors and logs (no credentials). */
    readonly describe = 'redis',
    private readonly events: StoreHealthEvents = {},
    private readonly probeMs = 500,
  ) {
    this.upNow = client.status === 'ready';
    this.everUp = this.upNow;
    this.firstReady = this.upNow ? Promise.resolve() : new Promise((resolve) => client.once('ready', () => resolve()));
    if (!this.upNow) this.startProbe();
    client.on('ready', () => this.markUp());
    client.on('close', () => this.markDown(new Error('connection closed')));
    client.on('error', () => {
      /* reported through markDown on close and on failed commands */
    });
  }

  get up(): boolean {
    return this.upNow;
  }

  markDown(err: unknown): void {
    this.downCause = err;
    if (!this.upNow) return;
    this.errors++;
    this.upNow = false;
    this.events.onDown?.(err);
    this.startProbe();
  }

  private markUp(): void {
    if (this.upNow) return;
    this.upNow = true;
    this.everUp = true;
    this.downCause = undefined;
    clearInterval(this.probe);
    this.probe = undefined;
    this.events.onUp?.();
  }

  private startProbe(): void {
    if (this.probe) return;
    this.probe = setInterval(() => {
      if (this.client.status !== 'ready') return; // reconnecting: 'ready' will say when
      this.client.ping().then(
        () => this.markUp(),
        () => {},
      );
    }, this.probeMs);
    this.probe.unref();
  }

  /** The error a command gets while the store cannot answer. */
  unavailable(cause: unknown = this.downCause): StoreUnavailableError {
    const why = cause instanceof Error ? cause.message : 'not answering';
    return new StoreUnavailableError(this.describe, `the shared store is unavailable (${why})`, { cause });
  }

  /**
   * Run a command. A store known to be down, or a command that fails or times out, is a
   * StoreUnavailableError: the caller decides what it may still do without the store.
   */
  async run<T>(op: () => Promise<T>): Promise<T> {
    if (!this.upNow && !this.everUp) await this.firstConnection();
    if (!this.upNow) throw this.unavailable();
    try {
      return await op();
    } catch (err) {
      if (err instanceof StoreUnavailableError) throw err; // the store answered, with a refusal
      this.markDown(err);
      throw this.unavailable(err);
    }
  }

  /** A process that just started waits (briefly) for its first connection instead of refusing at once. */
  private async firstConnection(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, FIRST_READY_WAIT_MS)));
    await Promise.race([this.firstReady, timeout]);
    clearTimeout(timer);
  }

  /** Run `op` on the store if it answers; otherwise (or on failure) run `fallback`. */
  async use<T>(op: () => Promise<T>, fallback: () => Promise<T>): Promise<T> {
    try {
      return await this.run(op);
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      return fallback();
    }
  }

  /** Best-effort write (the in-process copy is already written). */
  async write(op: () => Promise<unknown>): Promise<void> {
    await this.use(op, async () => undefined);
  }

  close(): void {
    clearInterval(this.probe);
    this.probe = undefined;
  }
}

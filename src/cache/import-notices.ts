// An import takes effect on every replica at once, not at each one's next refresh: `trust import`
// announces the repositories it wrote to Redis on a channel under the key prefix (PUBLISH), and each
// `serve` process listens on a connection of its own (SUBSCRIBE, made like the store's connection:
// standalone, Sentinel, or a Cluster's pub/sub) and forgets what it verified of those repositories.
//
// Pub/sub delivers at most once: an announcement published while a subscriber reconnects (or while a
// Cluster moves its subscription to another node, which ioredis does without a word) is lost. So the
// import first raises a counter (`<prefix>imports`) and numbers its announcement with it, and a
// replica forgets every answer it holds whenever its subscription is (re)established, whenever an
// announcement skips a number, and whenever the counter, read every few seconds, is past the last
// announcement it received. A lost announcement costs a re-verification, never a stale answer for
// longer than one such check.

import type { Logger } from 'pino';
import type { RedisConfig } from '../config/redis.js';
import { connectStore, type StoreClient } from './redis-connect.js';

/** Why a replica forgets answers: an announcement, or one it may have missed. */
export type ImportNoticeReason = 'import' | 'resubscribed' | 'missed-import';

const CHECK_INTERVAL_MS = 5_000;
/** An announcement is written by an import, or by anyone who can write to Redis: bounded. */
const MAX_NOTICE_BYTES = 1 << 20;
const MAX_NOTICE_GUNS = 10_000;

const channelOf = (prefix: string) => `${prefix}trust-imported`;
const counterOf = (prefix: string) => `${prefix}imports`;

/** Tell every running replica that `guns` changed; the number of subscribers that received it. */
export async function announceImport(client: StoreClient, prefix: string, guns: readonly string[]): Promise<number> {
  const seq = await client.incr(counterOf(prefix));
  return client.publish(channelOf(prefix), JSON.stringify({ seq, guns }));
}

export interface ImportListenerOptions {
  readonly redis: RedisConfig;
  readonly prefix: string;
  /** The store's own connection (the subscriber's cannot run other commands): reads the counter. */
  readonly store: StoreClient;
  /** Forget what this process verified of `guns`, or of every repository. */
  readonly forget: (reason: ImportNoticeReason, guns?: readonly string[]) => void;
  readonly logger?: Logger | undefined;
  readonly checkIntervalMs?: number;
}

export class ImportListener {
  private readonly subscriber: StoreClient;
  private readonly timer: NodeJS.Timeout;
  /** The last import this process has acted on (its counter value). */
  private seen = 0;
  private subscribedBefore = false;

  constructor(private readonly opts: ImportListenerOptions) {
    this.subscriber = connectStore(opts.redis);
    this.subscriber.on('error', () => {}); // the store's own connection reports outages (health.ts)
    this.subscriber.on('ready', () => void this.subscribe());
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel === channelOf(opts.prefix)) this.received(message);
    });
    this.timer = setInterval(() => void this.checkCounter(), opts.checkIntervalMs ?? CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
    this.subscriber.disconnect();
  }

  /** (Re)subscribed: announcements made meanwhile are lost, so nothing verified before stands. */
  private async subscribe(): Promise<void> {
    try {
      await this.subscriber.subscribe(channelOf(this.opts.prefix));
      this.seen = await this.counter();
    } catch (err) {
      this.opts.logger?.warn({ err: errText(err) }, 'import notices: subscribing failed (retried when the store reconnects)');
      return;
    }
    this.forgetAll('resubscribed', this.subscribedBefore ? 'import notices: subscribed again after a disconnect — announcements may have been missed: forgetting every verified answer' : undefined);
    this.subscribedBefore = true;
  }

  private received(message: string): void {
    const notice = message.length <= MAX_NOTICE_BYTES ? parseNotice(message) : undefined;
    if (!notice) return this.forgetAll('import', 'import notices: an announcement that is not one: forgetting every verified answer');
    const missed = notice.seq > this.seen + 1;
    this.seen = Math.max(this.seen, notice.seq);
    if (missed) return this.forgetAll('missed-import', 'import notices: an announcement was missed: forgetting every verified answer');
    this.opts.logger?.info({ repositories: notice.guns, seq: notice.seq }, 'trust data imported: forgetting what this replica verified of these repositories');
    this.opts.forget('import', notice.guns);
  }

  /** The fallback for announcements pub/sub lost: the counter moved past the last one received. */
  private async checkCounter(): Promise<void> {
    let current: number;
    try {
      current = await this.counter();
    } catch {
      return; // the store is away: the subscription is too, and is re-established with it
    }
    if (current <= this.seen) return;
    this.seen = current;
    this.forgetAll('missed-import', 'import notices: the store counts an import this replica was not told of: forgetting every verified answer');
  }

  private async counter(): Promise<number> {
    const n = Number(await this.opts.store.get(counterOf(this.opts.prefix)));
    return Number.isSafeInteger(n) && n > 0 ? n : 0;
  }

  private forgetAll(reason: ImportNoticeReason, warning: string | undefined): void {
    if (warning) this.opts.logger?.warn(warning);
    this.opts.forget(reason);
  }
}

function parseNotice(message: string): { seq: number; guns: string[] } | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(message);
  } catch {
    return undefined;
  }
  const { seq, guns } = (doc ?? {}) as { seq?: unknown; guns?: unknown };
  if (!Number.isSafeInteger(seq) || !Array.isArray(guns) || guns.length > MAX_NOTICE_GUNS) return undefined;
  if (!guns.every((g): g is string => typeof g === 'string')) return undefined;
  return { seq: seq as number, guns };
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

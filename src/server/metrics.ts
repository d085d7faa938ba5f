// Prometheus metrics (prom-client): what an operator alerts on — refusals by reason, upstream and
// Notary latency, cache effectiveness, single-flight sharing, signature work, and how long until each
// repository's trust data expires (alert before signatures lapse).
//
// Repository names are labels only on the expiry gauges, and boundedly: the `maxRepositories` whose
// trust data expires soonest (the ones to act on), named by GUN or, where names are not for the
// scraper's eyes, by a hash of it.

import { createHash } from 'node:crypto';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type LabelValues } from 'prom-client';
import { signatureVerifications } from '../trust/signatures.js';

export interface TrustExpiry {
  readonly gun: string;
  /** Epoch ms until which the repository's trust data is accepted (offline grace included). */
  readonly expires: number;
  /** Served under the offline grace now. */
  readonly stale: boolean;
}

export interface MetricsSources {
  /** Current per-repository trust expiries (from the trust service's memory). */
  trustExpiries(): Iterable<TrustExpiry>;
  /** Calls that joined an operation already in flight, by kind. */
  singleFlightJoined(): Record<string, number>;
  /** Redis availability, when Redis is configured. */
  readonly redis?: { readonly up: boolean; readonly errors: number };
  /** Per repository: when its trusted root's certificates stop carrying it (epoch ms). */
  rootCertificateExpiries?(): Iterable<{ readonly gun: string; readonly expires: number }>;
  /** Times the shared store was found to have lost trust data (cumulative). */
  storeDataLoss?(): number;
}

export interface MetricsOptions {
  /** At most this many repositories get their own `gun` series: those whose trust data expires first. */
  readonly maxRepositories: number;
  /** `gun`: the repository's GUN; `sha256`: the first 16 hex digits of the GUN's SHA-256. */
  readonly repositoryLabel: 'gun' | 'sha256';
}

export const DEFAULT_METRICS_OPTIONS: MetricsOptions = { maxRepositories: 100, repositoryLabel: 'gun' };

/**
 * One label set of a counter for the warm path: `inc()` adds to a plain number, folded into the
 * counter whenever the registry is read. prom-client hashes the label object on every `inc` (about
 * 1 µs a call here); a scrape sees the same values either way.
 */
export class HotSeries<L extends string> {
  private pending = 0;

  constructor(
    private readonly counter: Counter<L>,
    private readonly labels: LabelValues<L>,
  ) {}

  inc(): void {
    this.pending++;
  }

  fold(): void {
    if (this.pending === 0) return;
    this.counter.inc(this.labels, this.pending);
    this.pending = 0;
  }
}

export class Metrics {
  readonly registry = new Registry();
  // per counter, its hot series by label set (bounded by the label values: decisions, upstreams, systems)
  private readonly hot = new Map<Counter<string>, Map<string, HotSeries<string>>>();
  readonly decisions: Counter<'decision' | 'reason' | 'upstream' | 'system'>;
  readonly upstreamLatency: Histogram<'upstream' | 'service' | 'outcome'>;
  readonly cacheLookups: Counter<'cache' | 'result'>;
  readonly refreshes: Counter<'upstream' | 'result'>;
  readonly invalidations: Counter<'reason'>;

  constructor(sources?: MetricsSources, clock: () => number = Date.now, options: Partial<MetricsOptions> = {}) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'trustgate_' });
    this.decisions = new Counter({
      name: 'trustgate_manifest_decisions_total',
      help: 'Manifest decisions: served, allowed-unverified or refused, with the refusal reason and the trust system (notary, sigstore, both; the policy trust mode for refusals)',
      labelNames: ['decision', 'reason', 'upstream', 'system'],
      registers,
      collect: () => this.fold(this.decisions),
    });
    this.upstreamLatency = new Histogram({
      name: 'trustgate_upstream_request_duration_seconds',
      help: 'Time to the response headers of requests to upstream registries and Notary servers',
      labelNames: ['upstream', 'service', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.cacheLookups = new Counter({
      name: 'trustgate_cache_lookups_total',
      help: 'Manifest answers by where they came from: hot (this process, within the refresh interval), hit (shared cache), miss',
      labelNames: ['cache', 'result'],
      registers,
      collect: () => this.fold(this.cacheLookups),
    });
    this.refreshes = new Counter({
      name: 'trustgate_trust_refreshes_total',
      help: 'Refreshes of a repository trust data from Notary, by result',
      labelNames: ['upstream', 'result'],
      registers,
    });
    this.invalidations = new Counter({
      name: 'trustgate_trust_invalidations_total',
      help: 'Times this process forgot verified answers before their refresh interval: reload (SIGHUP), import (announced), missed-import and resubscribed (an announcement may have been lost: every answer), index-changed (trust.bundles)',
      labelNames: ['reason'],
      registers,
    });
    if (!sources) {
      this.verificationMetrics(registers);
      return;
    }
    this.verificationMetrics(registers, sources);
    this.expiryMetrics(sources, registers, clock, { ...DEFAULT_METRICS_OPTIONS, ...options });
    this.redisMetrics(sources, registers);
    this.trustStateMetrics(sources, registers, clock, { ...DEFAULT_METRICS_OPTIONS, ...options });
  }

  /** Work done per request rather than per answer: signatures verified, single-flight joins. */
  private verificationMetrics(registers: Registry[], sources?: MetricsSources): void {
    new Gauge({
      name: 'trustgate_signature_verifications',
      help: 'Signature verifications performed (cumulative); verdicts on unchanged trust data are remembered, not repeated',
      registers,
      collect() {
        this.set(signatureVerifications());
      },
    });
    if (!sources) return;
    new Gauge({
      name: 'trustgate_singleflight_joined',
      help: 'Calls that joined an identical operation already in flight instead of starting their own (cumulative)',
      labelNames: ['operation'],
      registers,
      collect() {
        for (const [operation, n] of Object.entries(sources.singleFlightJoined())) this.set({ operation }, n);
      },
    });
  }

  private trustStateMetrics(sources: MetricsSources, registers: Registry[], clock: () => number, o: MetricsOptions): void {
    const certs = sources.rootCertificateExpiries?.bind(sources);
    if (certs) {
      const label = (gun: string) => (o.repositoryLabel === 'sha256' ? createHash('sha256').update(gun).digest('hex').slice(0, 16) : gun);
      new Gauge({
        name: 'trustgate_root_certificate_expiry_seconds',
        help: `Seconds until a repository's trusted root certificate expires (negative: expired; pulls are refused until the owner rotates the root key); the ${o.maxRepositories} soonest`,
        labelNames: ['gun'],
        registers,
        collect() {
          this.reset();
          const soonest = [...certs()].sort((a, b) => a.expires - b.expires).slice(0, o.maxRepositories);
          for (const e of soonest) this.set({ gun: label(e.gun) }, Math.round((e.expires - clock()) / 1000));
        },
      });
    }
    const loss = sources.storeDataLoss?.bind(sources);
    if (loss) {
      new Counter({
        name: 'trustgate_store_data_loss_total',
        help: 'Times the shared store was found to have lost trust data (roots and floors were written back)',
        registers,
        collect() {
          this.reset();
          this.inc(loss());
        },
      });
    }
  }

  private expiryMetrics(sources: MetricsSources, registers: Registry[], clock: () => number, o: MetricsOptions): void {
    const label = (gun: string) => (o.repositoryLabel === 'sha256' ? createHash('sha256').update(gun).digest('hex').slice(0, 16) : gun);
    const soonest = (stale: boolean) =>
      [...sources.trustExpiries()]
        .filter((e) => !stale || e.stale)
        .sort((a, b) => a.expires - b.expires)
        .slice(0, o.maxRepositories);
    const seconds = (e: TrustExpiry) => Math.round((e.expires - clock()) / 1000);
    new Gauge({
      name: 'trustgate_trust_expiry_seconds',
      help: `Seconds until the trust data a repository answers depend on stops being accepted (offline grace included); the ${o.maxRepositories} soonest`,
      labelNames: ['gun'],
      registers,
      collect() {
        this.reset();
        for (const e of soonest(false)) this.set({ gun: label(e.gun) }, seconds(e));
      },
    });
    new Gauge({
      name: 'trustgate_offline_grace_remaining_seconds',
      help: 'For repositories served under an offline grace (expired timestamp/snapshot accepted): seconds until the grace runs out',
      labelNames: ['gun'],
      registers,
      collect() {
        this.reset();
        for (const e of soonest(true)) this.set({ gun: label(e.gun) }, seconds(e));
      },
    });
    new Gauge({
      name: 'trustgate_trust_repositories',
      help: 'Repositories this process holds verified trust data for (expiry series are kept for the soonest only)',
      registers,
      collect() {
        this.set([...sources.trustExpiries()].length);
      },
    });
  }

  private redisMetrics(sources: MetricsSources, registers: Registry[]): void {
    const redis = sources.redis;
    if (!redis) return;
    new Gauge({
      name: 'trustgate_redis_up',
      help: '1 while Redis answers; 0 while it does not (only repositories this replica verified itself are served)',
      registers,
      collect() {
        this.set(redis.up ? 1 : 0);
      },
    });
    new Gauge({
      name: 'trustgate_redis_failures',
      help: 'Redis failures (a command failed or timed out, the connection closed), cumulative',
      registers,
      collect() {
        this.set(redis.errors);
      },
    });
  }

  /** The hot series of `counter` for `labels` (one object per label set). */
  series<L extends string>(counter: Counter<L>, labels: Record<L, string>): HotSeries<L> {
    let byLabels = this.hot.get(counter as Counter<string>);
    if (!byLabels) this.hot.set(counter as Counter<string>, (byLabels = new Map()));
    const key = JSON.stringify(Object.entries(labels).sort());
    let s = byLabels.get(key) as HotSeries<L> | undefined;
    if (!s) byLabels.set(key, (s = new HotSeries(counter, labels as LabelValues<L>)) as unknown as HotSeries<string>);
    return s;
  }

  private fold(counter: Counter<string>): void {
    for (const s of this.hot.get(counter)?.values() ?? []) s.fold();
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

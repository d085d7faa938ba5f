// The composition root: every service trustgate runs on is built here, once, from the configuration
// (distribution registry/handlers/app.go NewApp). `serve`, `warm`, `check` and `trust export/import`
// take what they need from it, so a setting added to the configuration reaches every command.

import { pino, type Logger } from 'pino';
import type { Stores } from '../cache/stores.js';
import type { Config } from '../config/config.js';
import { blobDispatchers, type BlobDispatchers } from '../http/blob-dispatchers.js';
import { buildNotaryClients, type NotaryClients } from '../notary/clients.js';
import { NotaryTrustSource } from '../notary/source.js';
import type { UpdaterEvent } from '../notary/updater.js';
import { Policy } from '../policy/policy.js';
import { BlobService } from '../pull/blobs.js';
import { ManifestService } from '../pull/manifests.js';
import { TagService } from '../pull/tags.js';
import { Targets } from '../pull/targets.js';
import { TrustFileService } from '../notary/read-api.js';
import type { PullTarget } from '../pull/target.js';
import type { TrustExpiry, TrustSource } from '../pull/trust-source.js';
import { RegistryUpstream } from '../registry/upstream.js';
import { AllTrustSource, AnyTrustSource } from '../pull/combined-trust.js';
import { SignatureArtifacts } from '../pull/signature-artifacts.js';
import { SigstoreTrustSource } from '../sigstore/source.js';
import { MemoryTagHistory, type TagHistoryStore } from '../sigstore/tag-history.js';
import { RedisTagHistory, ResilientTagHistory } from '../sigstore/tag-history-redis.js';
import { Metrics } from './metrics.js';
import { DecisionLog } from './status.js';

export interface ServiceDeps {
  readonly stores: Stores;
  /** Where service events go (refresh failures, rotations); silent when absent. */
  readonly logger?: Logger | undefined;
  /** The reference clock (epoch ms) for trust decisions; tests move it. */
  readonly clock?: (() => number) | undefined;
}

export interface Services {
  readonly config: Config;
  readonly stores: Stores;
  readonly logger: Logger;
  readonly policy: Policy;
  readonly targets: Targets;
  readonly upstreams: ReadonlyMap<string, RegistryUpstream>;
  readonly notary: NotaryClients;
  readonly notarySource: NotaryTrustSource;
  readonly sigstoreSource: SigstoreTrustSource;
  readonly trustFor: (target: PullTarget) => TrustSource;
  /** Every repository whose verified trust data this process holds, from every trust source. */
  expiries(): Iterable<TrustExpiry>;
  readonly manifests: ManifestService;
  /** Signature artifacts (cosign tags, referrers) of verified subjects. */
  readonly artifacts: SignatureArtifacts;
  readonly blobs: BlobService;
  readonly blobDispatchers: BlobDispatchers;
  readonly tags: TagService;
  readonly trustFiles: TrustFileService;
  readonly metrics: Metrics;
  /** The last decision per policy rule (the status view). */
  readonly decisions: DecisionLog;
  /** Forget every verified answer held in process (SIGHUP, an import): the next pull verifies again. */
  invalidate(): void;
  /** Close upstream connections (the stores belong to whoever opened them). */
  close(): Promise<void>;
}

export function buildServices(config: Config, deps: ServiceDeps): Services {
  const logger = deps.logger ?? pino({ enabled: false });
  const { stores, clock } = deps;
  // the metrics are built last (they read the services); until then observations are dropped
  const late: { metrics?: Metrics } = {};
  const observe: Observe = (upstream, service) => (seconds, outcome) => late.metrics?.upstreamLatency.observe({ upstream, service, outcome }, seconds);

  const policy = new Policy(config.policy, config.trust.tofu);
  const upstreams = registryUpstreams(config, observe);
  const defaultName = config.upstreams.find((u) => u.default)?.name;
  const targets = new Targets(upstreams, defaultName ? upstreams.get(defaultName) : undefined, policy);
  const trust = trustSources(config, { stores, logger, clock, policy, observe, late });
  const { manifests, artifacts } = manifestServices(config, stores, trust, clock);
  const metrics = (late.metrics = serviceMetrics(config, stores, trust, manifests, clock));
  const dispatchers = blobDispatchers(config);
  return {
    config,
    stores,
    logger,
    policy,
    targets,
    upstreams,
    ...trust,
    expiries: () => trust.notarySource.expiries(),
    manifests,
    artifacts,
    blobs: new BlobService(dispatchers.direct, dispatchers.redirects),
    blobDispatchers: dispatchers,
    tags: new TagService(trust.trustFor),
    trustFiles: new TrustFileService(stores.trustStore, policy),
    metrics,
    decisions: new DecisionLog(clock),
    invalidate: () => [trust.notarySource, trust.sigstoreSource, manifests].forEach((s) => s.invalidate()),
    close: async () => {
      const closing = [...upstreams.values()].map((u) => u.close());
      await Promise.allSettled([...closing, trust.notary.close(), dispatchers.follow.close(), dispatchers.direct.close()]);
    },
  };
}

type Observe = (upstream: string, service: string) => (seconds: number, outcome: string) => void;

interface TrustSources {
  readonly notary: NotaryClients;
  readonly notarySource: NotaryTrustSource;
  readonly sigstoreSource: SigstoreTrustSource;
  readonly trustFor: (target: PullTarget) => TrustSource;
}

interface TrustDeps {
  readonly stores: Stores;
  readonly logger: Logger;
  readonly clock: (() => number) | undefined;
  readonly policy: Policy;
  readonly observe: Observe;
  readonly late: { metrics?: Metrics };
}

/** The trust systems, and which one (or which combination) a policy decision asks. */
function trustSources(config: Config, d: TrustDeps): TrustSources {
  const { clock, logger, late } = d;
  const notary = buildNotaryClients(config, {
    store: d.stores.trustStore,
    policy: d.policy,
    clock,
    observe: (name) => d.observe(name, 'notary'),
    onEvent: (e) => logger.info({ event: e.type, gun: e.gun, ...eventDetail(e) }, `trust: ${e.type}`),
  });
  const notarySource = new NotaryTrustSource({
    updaterFor: notary.updaterFor,
    refreshIntervalMs: config.trust.refreshIntervalMs,
    ...(clock ? { clock } : {}),
    onBackgroundError: (gun, err) => logger.warn({ gun, err: err instanceof Error ? err.message : String(err) }, 'background trust refresh failed'),
    onRefresh: (upstream, _gun, ok) => late.metrics?.refreshes.inc({ upstream, result: ok ? 'ok' : 'failed' }),
  });
  const sigstoreSource = new SigstoreTrustSource({
    history: tagHistory(config, d.stores),
    // a digest's verified signatures are looked up again after this: a deleted signature stops counting
    verdictTtlMs: Math.max(config.trust.refreshIntervalMs, SIGSTORE_VERDICT_MIN_MS),
    manifestMaxBytes: config.limits.manifestMaxBytes,
    clock,
  });
  const bySystem = new Map<string | undefined, TrustSource>([
    ['sigstore', sigstoreSource],
    ['any', new AnyTrustSource(notarySource, sigstoreSource)],
    ['all', new AllTrustSource(notarySource, sigstoreSource)],
  ]);
  return { notary, notarySource, sigstoreSource, trustFor: (target) => bySystem.get(target.decision.trust) ?? notarySource };
}

/** Manifests, and the signature artifacts served only for subjects the manifests would serve. */
function manifestServices(config: Config, stores: Stores, trust: TrustSources, clock: (() => number) | undefined) {
  const artifacts = new SignatureArtifacts(config.limits.manifestMaxBytes);
  const manifests = new ManifestService({
    trustFor: trust.trustFor,
    artifacts,
    results: stores.results,
    maxBytes: config.limits.manifestMaxBytes,
    refreshIntervalMs: config.trust.refreshIntervalMs,
    ...(clock ? { clock } : {}),
  });
  artifacts.bind((p, digest) => manifests.servable(p, digest));
  return { manifests, artifacts };
}

function serviceMetrics(config: Config, stores: Stores, trust: TrustSources, manifests: ManifestService, clock: (() => number) | undefined): Metrics {
  const { notary, notarySource } = trust;
  return new Metrics(
    {
      trustExpiries: () => notarySource.expiries(),
      singleFlightJoined: () => ({ ...notarySource.joined(), manifest_fetch: manifests.fetches.joined }),
      ...(stores.health ? { redis: stores.health } : {}),
      rootCertificateExpiries: () => notary.rootCertificateExpiries(),
      ...(stores.shared ? { storeDataLoss: () => stores.shared?.dataLoss ?? 0 } : {}),
    },
    clock,
    { maxRepositories: config.metrics.maxRepositories, repositoryLabel: config.metrics.repositoryLabel },
  );
}

const SIGSTORE_VERDICT_MIN_MS = 60_000;

/** The tag rollback memory: shared in Redis (with an in-process floor), or in process. */
function tagHistory(config: Config, stores: Stores): TagHistoryStore {
  if (!stores.health) return new MemoryTagHistory();
  return new ResilientTagHistory(new RedisTagHistory(stores.health.client, config.redisPrefix), stores.health);
}

function registryUpstreams(config: Config, observe: Observe): Map<string, RegistryUpstream> {
  const t = config.timeouts;
  const out = new Map<string, RegistryUpstream>();
  for (const u of config.upstreams) {
    const timeouts = { connectTimeoutMs: t.connectMs, headersTimeoutMs: t.headersMs, bodyIdleTimeoutMs: t.bodyIdleMs };
    out.set(u.name, new RegistryUpstream(u, { ...timeouts, totalTimeoutMs: t.headersMs + t.bodyIdleMs, observe: observe(u.name, 'registry') }));
  }
  return out;
}

function eventDetail(e: UpdaterEvent): Record<string, unknown> {
  switch (e.type) {
    case 'root-rotated':
      return { from: e.from, to: e.to };
    case 'delegation-skipped':
      return { role: e.role, reason: e.cause.code };
    default:
      return { reason: e.cause.code, detail: e.cause.message };
  }
}

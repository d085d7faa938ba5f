// The fastify app factory: builds the services from a configuration and stores, registers the routes
// and the one error handler. `listen` is the caller's business (serve.ts, tests use inject or port 0).

import { rootCertificates } from 'node:tls';
import replyFrom from '@fastify/reply-from';
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { Agent, interceptors, Pool, type Dispatcher } from 'undici';
import type { ResultCache } from '../cache/results.js';
import type { TrustStore } from '../cache/trust-store.js';
import type { RedisHealth } from '../cache/resilient.js';
import type { Config } from '../config/config.js';
import { readFile } from 'node:fs/promises';
import { ConfigError, RequestInvalidError, TrustgateError, UnauthorizedError, UnsupportedError, UpstreamNotFoundError } from '../errors.js';
import { ClientAuth } from './client-auth.js';
import { StoreFetcher } from '../notary/offline.js';
import { NotaryRemote } from '../notary/remote.js';
import { TrustUpdater, type UpdaterEvent } from '../notary/updater.js';
import { Policy } from '../policy/policy.js';
import { BlobService } from '../pull/blobs.js';
import { ManifestService } from '../pull/manifests.js';
import { TagService } from '../pull/tags.js';
import { TrustService } from '../pull/trust.js';
import { toRegistryError } from '../registry/errcode.js';
import { RegistryUpstream } from '../registry/upstream.js';
import { httpCheck, ReadinessProbe } from './health.js';
import { Metrics } from './metrics.js';
import { API_VERSION_HEADER, registerRoutes } from './routes.js';

export interface AppOptions {
  readonly config: Config;
  readonly trustStore: TrustStore;
  readonly results: ResultCache;
  readonly logger?: FastifyServerOptions['logger'] | FastifyServerOptions['loggerInstance'];
  readonly clock?: () => number;
  /** Readiness of the shared store (Redis PING); absent for the in-process cache. */
  readonly storeCheck?: () => Promise<void>;
  /** How long a readiness answer is reused (default 5 s). */
  readonly readinessCacheMs?: number;
  /** Redis availability, for metrics (absent with the in-process cache). */
  readonly redisHealth?: RedisHealth;
}

export interface TrustgateApp {
  readonly app: FastifyInstance;
  readonly trust: TrustService;
  readonly metrics: Metrics;
  /** Re-read the TLS certificate and key and the htpasswd file (SIGHUP, or when they change). */
  reload(): Promise<void>;
  /** Files whose change calls for a reload. */
  readonly watchedFiles: readonly string[];
  /** Close upstream connections (the stores belong to the caller). */
  close(): Promise<void>;
}

export async function buildApp(o: AppOptions): Promise<TrustgateApp> {
  const { config } = o;
  const loggerOpt =
    o.logger && typeof (o.logger as { child?: unknown }).child === 'function'
      ? { loggerInstance: o.logger as NonNullable<FastifyServerOptions['loggerInstance']> }
      : { logger: (o.logger as FastifyServerOptions['logger']) ?? false };
  const readTls = async () =>
    config.tls ? { cert: await readFile(config.tls.certPath), key: await readFile(config.tls.keyPath) } : undefined;
  let tls: Awaited<ReturnType<typeof readTls>>;
  try {
    tls = await readTls();
  } catch (cause) {
    throw new ConfigError(`cannot read the TLS certificate or key: ${(cause as Error).message}`, { cause });
  }
  const clientAuth = config.auth ? new ClientAuth(config.auth) : undefined;
  await clientAuth?.load();
  const app = Fastify({
    ...loggerOpt,
    ...(tls ? { https: tls } : {}),
    exposeHeadRoutes: false,
    // one audit line per manifest decision instead of two generic lines per request
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: false,
    bodyLimit: 1024,
    // whole requests (not responses) must arrive promptly: a slow client cannot hold a connection
    requestTimeout: 30_000,
    // a missing Host is refused by trustgate itself, with a registry error (below)
    http: { requireHostHeader: false },
    // requests too malformed for the HTTP parser still get a registry error envelope
    clientErrorHandler: (err, socket) => {
      const code = (err as { code?: string }).code ?? '';
      const status = code === 'HPE_HEADER_OVERFLOW' ? 431 : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      const body = JSON.stringify({
        errors: [{ code: 'UNSUPPORTED', message: `malformed HTTP request (${code || 'parse error'})`, detail: { reason: 'BAD_REQUEST' } }],
      });
      if (socket.writable) {
        socket.end(
          `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request'}\r\n` +
            `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        );
      } else socket.destroy();
    },
  });

  const timeouts = {
    connectTimeoutMs: config.timeouts.connectMs,
    headersTimeoutMs: config.timeouts.headersMs,
    bodyIdleTimeoutMs: config.timeouts.bodyIdleMs,
  };
  let metricsRef: Metrics | undefined;
  const observe = (upstream: string, service: string) => (seconds: number, outcome: string) =>
    metricsRef?.upstreamLatency.observe({ upstream, service, outcome }, seconds);
  const upstreams = new Map<string, RegistryUpstream>();
  const notaries = new Map<string, NotaryRemote>();
  for (const u of config.upstreams) {
    upstreams.set(
      u.name,
      new RegistryUpstream(u, { ...timeouts, totalTimeoutMs: config.timeouts.headersMs + config.timeouts.bodyIdleMs, observe: observe(u.name, 'registry') }),
    );
    if (u.notary === 'offline') continue; // verified against imported trust data only
    notaries.set(
      u.name,
      new NotaryRemote(u.notary, {
        ...timeouts,
        totalTimeoutMs: config.timeouts.notaryTotalMs,
        ca: u.caPem,
        credentials: u.notaryCredentials,
        allowedRealms: u.allowedRealms,
        observe: observe(u.name, 'notary'),
      }),
    );
  }
  const policy = new Policy(config.policy, config.trust.tofu);
  const updaters = new Map<string, TrustUpdater>();
  for (const u of config.upstreams) {
    const name = u.name;
    updaters.set(
      name,
      new TrustUpdater({
        fetcher: notaries.get(name) ?? new StoreFetcher(o.trustStore),
        store: o.trustStore,
        maxStalenessMs: u.maxStalenessMs,
        pinning: (gun) => policy.decide(gun).pinning,
        limits: { rootMaxBytes: config.trust.rootMaxBytes },
        ...(o.clock ? { clock: () => new Date((o.clock as () => number)()) } : {}),
        onEvent: (e: UpdaterEvent) => app.log.info({ event: e.type, gun: e.gun, ...eventDetail(e) }, `trust: ${e.type}`),
      }),
    );
  }
  const trust = new TrustService({
    updaterFor: (name) => updaters.get(name) as TrustUpdater,
    results: o.results,
    refreshIntervalMs: config.trust.refreshIntervalMs,
    ...(o.clock ? { clock: o.clock } : {}),
    onBackgroundError: (gun, err) => app.log.warn({ gun, err: err instanceof Error ? err.message : String(err) }, 'background trust refresh failed'),
    onRefresh: (upstream, _gun, ok) => metricsRef?.refreshes.inc({ upstream, result: ok ? 'ok' : 'failed' }),
  });
  const manifests = new ManifestService(trust, o.results, config.limits.manifestMaxBytes, config.trust.refreshIntervalMs, o.clock);
  const metrics = new Metrics({
    trustExpiries: () => trust.expiries(),
    singleFlightJoined: () => ({ ...trust.joined(), manifest_fetch: manifests.fetches.joined }),
    ...(o.redisHealth ? { redis: o.redisHealth } : {}),
  }, o.clock);
  metricsRef = metrics;

  const { follow, direct } = blobDispatchers(config, timeouts);
  await app.register(replyFrom, { undici: follow as unknown as Record<string, unknown>, disableRequestLogging: true });

  // reads only: refuse pushes and deletes before any body is read; refuse requests no client sends
  app.addHook('onRequest', async (req) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new UnsupportedError(`${req.method} is not supported: trustgate serves pulls only`);
    if (clientAuth && req.url.startsWith('/v2')) await clientAuth.check(req.headers.authorization);
    if (!req.headers.host) throw new RequestInvalidError('BAD_REQUEST', 'an HTTP/1.1 request needs a Host header');
    if (req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0) {
      throw new RequestInvalidError('BAD_REQUEST', `a ${req.method} request carries no body`);
    }
  });
  app.setErrorHandler(async (err, req, reply) => {
    const e = toRegistryError(err);
    if (err instanceof UnauthorizedError) reply.header('www-authenticate', err.challenge);
    if (!(err instanceof TrustgateError)) req.log.error({ err }, 'unexpected error');
    await reply.code(e.status).headers(API_VERSION_HEADER).type('application/json').send(req.method === 'HEAD' ? undefined : e.body);
  });
  app.setNotFoundHandler(async () => {
    throw new UpstreamNotFoundError('NAME_UNKNOWN', 'not a registry API path');
  });

  const defaultName = config.upstreams.find((u) => u.default)?.name;
  registerRoutes(app, {
    upstreams,
    defaultUpstream: defaultName ? upstreams.get(defaultName) : undefined,
    policy,
    manifests,
    blobs: new BlobService(direct),
    tags: new TagService(trust),
    metrics,
    trustStore: o.trustStore,
  });

  // operations endpoints, outside the registry API
  const readiness = new ReadinessProbe([
    ...(o.storeCheck ? [{ name: 'redis', check: o.storeCheck }] : []),
    ...config.upstreams.flatMap((u) => {
      const notary = notaries.get(u.name);
      return [
        httpCheck(`${u.name} registry`, `${u.registry}/v2/`, (upstreams.get(u.name) as RegistryUpstream).http.dispatcher),
        ...(notary ? [httpCheck(`${u.name} notary`, `${u.notary}/v2/`, notary.dispatcher)] : []),
      ];
    }),
  ], o.readinessCacheMs);
  app.get('/healthz', async (_req, reply) => reply.send({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const r = await readiness.evaluate();
    return reply.code(r.ready ? 200 : 503).send({ status: r.ready ? 'ready' : 'not ready', checks: r.checks });
  });
  app.get('/metrics', async (_req, reply) => {
    const { contentType, body } = await metrics.render();
    return reply.type(contentType).send(body);
  });

  const reload = async () => {
    // imported trust data and changed pins take effect now, not at the next refresh
    trust.invalidate();
    manifests.invalidate();
    const fresh = await readTls();
    if (fresh) (app.server as unknown as { setSecureContext(o: object): void }).setSecureContext(fresh);
    await clientAuth?.load();
    app.log.info({ tls: Boolean(fresh), htpasswd: Boolean(config.auth?.htpasswdPath) }, 'reloaded TLS certificate and client credentials');
  };

  return {
    app,
    trust,
    metrics,
    reload,
    watchedFiles: [config.tls?.certPath, config.tls?.keyPath, config.auth?.htpasswdPath].filter((f): f is string => Boolean(f)),
    close: async () => {
      await Promise.allSettled([
        ...[...upstreams.values()].map((u) => u.close()),
        ...[...notaries.values()].map((n) => n.close()),
        follow.close(),
        direct.close(),
      ]);
    },
  };
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

/**
 * Blob streaming connections: one pool per origin, each upstream's origin with its extra trust roots.
 * `follow` follows upstream redirects (undici drops Authorization on a cross-origin hop); `direct`
 * does not (redirect mode reads the Location itself).
 */
function blobDispatchers(config: Config, t: { connectTimeoutMs: number; headersTimeoutMs: number; bodyIdleTimeoutMs: number }) {
  const caByOrigin = new Map<string, string>();
  for (const u of config.upstreams) if (u.caPem) caByOrigin.set(new URL(u.registry).origin, u.caPem);
  const factory = (origin: string | URL, opts: object): Dispatcher => {
    const ca = caByOrigin.get(new URL(origin.toString()).origin);
    return new Pool(origin, {
      ...opts,
      connect: { timeout: t.connectTimeoutMs, ...(ca ? { ca: [...rootCertificates, ca] } : {}) },
      headersTimeout: t.headersTimeoutMs,
      bodyTimeout: t.bodyIdleTimeoutMs,
    });
  };
  const direct = new Agent({ factory });
  const follow = new Agent({ factory }).compose(interceptors.redirect({ maxRedirections: 5 }));
  return { follow, direct };
}

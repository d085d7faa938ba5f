// The fastify app over the services (services.ts): server options, the request hooks, the one error
// handler, the routes. `listen` is the caller's business (serve.ts; tests use inject or port 0).

import { readFile } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import replyFrom from '@fastify/reply-from';
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { ConfigError, RequestInvalidError, TrustgateError, UnauthorizedError, UnsupportedError, UpstreamNotFoundError } from '../errors.js';
import { toRegistryError } from '../registry/errcode.js';
import { Audit } from './audit.js';
import { ClientAuth } from './client-auth.js';
import { registerOpsRoutes } from './ops-routes.js';
import { lazyRequestLog } from './request-log.js';
import { isOpenPath, parseRequestTarget, requestShapeError } from './request-target.js';
import { API_VERSION_HEADER, registerRoutes } from './routes.js';
import { installWarmPath } from './warm-path.js';
import type { Config } from '../config/config.js';
import type { Services } from './services.js';

export interface AppOptions {
  /** How long a readiness answer is reused (default 5 s). */
  readonly readinessCacheMs?: number;
}

export interface TrustgateApp {
  readonly app: FastifyInstance;
  readonly services: Services;
  /** Drop verified answers held in process and re-read the TLS certificate, key and htpasswd file. */
  reload(): Promise<void>;
  /** Files whose change calls for a reload. */
  readonly watchedFiles: readonly string[];
  /** Close upstream connections (the stores belong to whoever opened them). */
  close(): Promise<void>;
}

export async function buildApp(services: Services, o: AppOptions = {}): Promise<TrustgateApp> {
  const { config } = services;
  const tls = await readTls(config).catch((cause: unknown) => {
    throw new ConfigError(`cannot read the TLS certificate or key: ${(cause as Error).message}`, { cause });
  });
  const clientAuth = config.auth ? new ClientAuth(config.auth) : undefined;
  await clientAuth?.load();
  const app = Fastify({
    loggerInstance: services.logger as NonNullable<FastifyServerOptions['loggerInstance']>,
    ...(tls ? { https: tls } : {}),
    exposeHeadRoutes: false,
    // one audit line per manifest decision instead of two generic lines per request
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: lazyRequestLog,
    trustProxy: false,
    bodyLimit: 1024,
    // whole requests (not responses) must arrive promptly: a slow client cannot hold a connection
    requestTimeout: 30_000,
    // a missing Host is refused by trustgate itself, with a registry error (below)
    http: { requireHostHeader: false },
    clientErrorHandler: malformedRequest,
  });
  await app.register(replyFrom, { undici: services.blobDispatchers.follow as unknown as Record<string, unknown>, disableRequestLogging: true });
  guardRequests(app, config, clientAuth);
  const audit = new Audit(app.log, services.metrics, services.decisions);
  registerRoutes(app, services, audit);
  installWarmPath(app, services, audit);
  registerOpsRoutes(app, services, o.readinessCacheMs);

  return {
    app,
    services,
    reload: () => reload(app, services, clientAuth),
    watchedFiles: [config.tls?.certPath, config.tls?.keyPath, config.auth?.htpasswdPath].filter((f): f is string => Boolean(f)),
    close: () => services.close(),
  };
}

/** SIGHUP or a watched file changed. */
async function reload(app: FastifyInstance, services: Services, clientAuth: ClientAuth | undefined): Promise<void> {
  const { config } = services;
  // imported trust data and changed pins take effect now, not at the next refresh
  services.invalidate('reload');
  const fresh = await readTls(config);
  if (fresh) (app.server as unknown as { setSecureContext(o: object): void }).setSecureContext(fresh);
  await clientAuth?.load();
  app.log.info({ tls: Boolean(fresh), htpasswd: Boolean(config.auth?.htpasswdPath) }, 'reloaded TLS certificate and client credentials');
}

async function readTls(config: Config): Promise<{ cert: Buffer; key: Buffer } | undefined> {
  return config.tls ? { cert: await readFile(config.tls.certPath), key: await readFile(config.tls.keyPath) } : undefined;
}

/** The request hooks and the one error handler: every refusal is a registry error. */
function guardRequests(app: FastifyInstance, config: Config, clientAuth: ClientAuth | undefined): void {
  // reads only: refuse pushes and deletes before any body is read; refuse requests no client sends;
  // authenticate on the path the router will route (absolute-form targets refused first). A callback
  // hook, not an async one: without client authentication a warm pull passes it with no promise.
  app.addHook('onRequest', (req, reply, done) => {
    let path: string;
    try {
      reply.header('x-content-type-options', 'nosniff');
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new UnsupportedError(`${req.method} is not supported: trustgate serves pulls only`);
      path = parseRequestTarget(req.raw.url ?? '').path;
    } catch (err) {
      done(err as Error);
      return;
    }
    if (!clientAuth || isOpenPath(path, config.metrics.auth)) {
      done(requestShapeError(req.method, req.headers));
      return;
    }
    clientAuth.check(req.headers.authorization).then(() => done(requestShapeError(req.method, req.headers)), done);
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
}

/** Requests too malformed for the HTTP parser still get a registry error envelope. */
function malformedRequest(err: Error, socket: Duplex): void {
  const code = (err as { code?: string }).code ?? '';
  const status = code === 'HPE_HEADER_OVERFLOW' ? 431 : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const body = JSON.stringify({
    errors: [{ code: 'UNSUPPORTED', message: `malformed HTTP request (${code || 'parse error'})`, detail: { reason: 'BAD_REQUEST' } }],
  });
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const reason = status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request';
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

// Warm manifest pulls answered before fastify. Most of a mirror's traffic is pulls of manifests this
// process verified within the refresh interval; taken through fastify's request pipeline (request
// and reply objects, routing, hooks, the promise chain, reply serialisation) such a pull cost about
// 1.6–2× the CPU of a bare node:http answer of the same bytes (README, Performance). Here the same
// checks run, through the same functions, as the onRequest hook (app.ts) and the registry route
// (routes.ts) apply; only a request that passes every one of them and has a warm answer is
// answered, with the same status, headers, body and audit line. Any other request — one that would
// be refused, a cold one, not a manifest, or any request while client authentication is configured
// or the server is closing — is left untouched for fastify, which decides it from the start.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { ServedManifest } from '../pull/manifests.js';
import type { PullTarget } from '../pull/target.js';
import { checkReference } from '../registry/reference.js';
import type { Audit } from './audit.js';
import { parseRequestTarget, parseRoute, requestShapeError } from './request-target.js';
import { API_VERSION_HEADER, manifestHeaders } from './routes.js';
import type { Services } from './services.js';

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/** Put the warm path in front of fastify's request listener on `app.server`. */
export function installWarmPath(app: FastifyInstance, s: Services, audit: Audit): void {
  const listeners = app.server.listeners('request') as Listener[];
  // fastify serves through the one listener it gave http(s).createServer
  if (listeners.length !== 1) throw new Error(`expected fastify's one request listener, found ${listeners.length}`);
  const fastify = listeners[0] as Listener;
  let closing = false;
  // fastify answers 503 once closing; leave every request to it from then on
  app.addHook('preClose', async () => {
    closing = true;
  });
  const headers = new WeakMap<ServedManifest, Readonly<Record<string, string>>>();
  const headersOf = (m: ServedManifest) => {
    let h = headers.get(m);
    if (h === undefined) headers.set(m, (h = { 'x-content-type-options': 'nosniff', ...API_VERSION_HEADER, ...manifestHeaders(m) }));
    return h;
  };
  app.server.removeListener('request', fastify);
  app.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const warm = closing ? undefined : warmAnswer(s, req);
    if (warm === undefined) {
      fastify.call(app.server, req, res);
      return;
    }
    const { target, reference, served } = warm;
    audit.served({ method: req.method as string, client: req.socket.remoteAddress as string }, target, reference, served);
    res.writeHead(200, headersOf(served)).end(req.method === 'HEAD' ? undefined : served.body);
  });
}

interface WarmAnswer {
  readonly target: PullTarget;
  readonly reference: string;
  readonly served: ServedManifest;
}

/** The warm answer to a request that passes every check of the full path; else undefined. */
function warmAnswer(s: Services, req: IncomingMessage): WarmAnswer | undefined {
  const method = req.method;
  // no fast path under client authentication: it stays in one place (the onRequest hook)
  if ((method !== 'GET' && method !== 'HEAD') || s.config.auth !== undefined) return undefined;
  try {
    const { path, query } = parseRequestTarget(req.url ?? '');
    if (requestShapeError(method, req.headers) !== undefined) return undefined;
    const route = parseRoute(path);
    if (route.kind !== 'manifests') return undefined;
    const target = s.targets.select(route.repository, new URLSearchParams(query), req.headers.accept);
    // admit (targets.ts) refuses denied targets; checkReference refuses malformed references
    if (target.decision.action === 'deny') return undefined;
    checkReference('manifests', route.reference);
    const served = s.manifests.warm(target, route.reference);
    return served && { target, reference: route.reference, served };
  } catch {
    // whatever fails here, fastify meets again from the start and answers as it always has
    return undefined;
  }
}

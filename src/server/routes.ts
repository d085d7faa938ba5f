// The Registry v2 read API, as thin routes over the pull use cases: parse, decide the target once,
// admit it under the policy once, call the use case, send its result. Routes throw; the one error
// handler (app.ts) turns every failure into a registry error envelope.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type {} from '@fastify/reply-from'; // reply.from
import { UpstreamNotFoundError } from '../errors.js';
import type { ServedManifest } from '../pull/manifests.js';
import { admit } from '../pull/targets.js';
import type { PullTarget } from '../pull/target.js';
import { checkReference } from '../registry/reference.js';
import type { Audit } from './audit.js';
import { sendBlob } from './blob-route.js';
import { parseRequestTarget, parseRoute, type RegistryRoute } from './request-target.js';
import type { Services } from './services.js';

export const API_VERSION_HEADER = { 'docker-distribution-api-version': 'registry/2.0' };

/** The registry route of a path (request-target.ts), refusing the Notary read API's shape. */
export function parsePath(path: string): ParsedPath {
  const route = parseRoute(path);
  if (route.kind === 'trust-file') throw new UpstreamNotFoundError('NAME_UNKNOWN', 'not a registry API path');
  return route;
}

type ParsedPath = Extract<RegistryRoute, { kind: 'manifests' | 'blobs' | 'tags' | 'referrers' }>;

export function registerRoutes(app: FastifyInstance, s: Services, audit: Audit): void {
  app.get('/v2/', async (_req, reply) => reply.headers(API_VERSION_HEADER).send({}));

  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const { path, query } = parseRequestTarget(req.raw.url ?? '');
    const route = parseRoute(path);
    if (route.kind === 'trust-file') return sendTrustFile(s, route.gun, route.name, req, reply);
    const parsed: ParsedPath = route;
    const target = s.targets.select(parsed.repository, new URLSearchParams(query), req.headers.accept);
    reply.headers(API_VERSION_HEADER);
    if (parsed.kind === 'manifests' || parsed.kind === 'blobs') checkReference(parsed.kind, parsed.reference);
    return serve(s, audit, target, parsed, query, req, reply);
  };
  app.route({ method: ['GET', 'HEAD'], url: '/v2/*', handler });
}

/** Admit the target under the policy, run the use case, send its result; every manifest decision audited. */
async function serve(s: Services, audit: Audit, target: PullTarget, parsed: ParsedPath, query: string, req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const who = { method: req.method, client: req.ip };
  try {
    admit(target);
    switch (parsed.kind) {
      case 'manifests': {
        const m = await s.manifests.get(target, parsed.reference);
        audit.served(who, target, parsed.reference, m);
        return await sendManifest(m, req, reply);
      }
      case 'tags': {
        const list = await s.tags.list(target, query);
        // the path the client asked, upstream prefix included: the next page comes from the same upstream
        if (list.next !== undefined) reply.header('link', `</v2/${parsed.repository}/tags/list?${list.next}>; rel="next"`);
        return await reply.type('application/json').send(list.body);
      }
      case 'referrers': {
        const body = await s.artifacts.referrers(target, parsed.reference, new URLSearchParams(query).get('artifactType') ?? undefined);
        if (body === undefined) throw new UpstreamNotFoundError('MANIFEST_UNKNOWN', `no referrers of ${target.gun}@${parsed.reference} here`);
        return await reply.type('application/vnd.oci.image.index.v1+json').header('content-length', String(body.length)).send(req.method === 'HEAD' ? undefined : body);
      }
      case 'blobs':
        return sendBlob(target, parsed.reference, await s.blobs.get(target, parsed.reference, req.method as 'GET' | 'HEAD', req.headers), reply);
    }
  } catch (err) {
    if (parsed.kind === 'manifests') audit.refused(who, target, parsed.reference, err);
    throw err;
  }
}

// per verified answer (a warm pull reuses one object): its headers, built once
const headersOfAnswer = new WeakMap<ServedManifest, Readonly<Record<string, string>>>();

/** The headers of a manifest answer (the warm path, warm-path.ts, sends the same). */
export function manifestHeaders(m: ServedManifest): Readonly<Record<string, string>> {
  let headers = headersOfAnswer.get(m);
  if (headers === undefined) {
    headers = { 'content-type': m.mediaType, 'content-length': String(m.body.length), 'docker-content-digest': m.digest, etag: `"${m.digest}"` };
    headersOfAnswer.set(m, headers);
  }
  return headers;
}

async function sendManifest(m: ServedManifest, req: FastifyRequest, reply: FastifyReply): Promise<void> {
  await reply.headers(manifestHeaders(m)).send(req.method === 'HEAD' ? undefined : m.body);
}

async function sendTrustFile(s: Services, gun: string, name: string, req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const bytes = await s.trustFiles.read(gun, name);
  if (!bytes) {
    await reply.code(404).type('application/json').send({ errors: [{ code: 'METADATA_NOT_FOUND', message: `no ${name} for ${gun}`, detail: {} }] });
    return;
  }
  await reply.type('application/json').header('content-length', String(bytes.length)).send(req.method === 'HEAD' ? undefined : bytes);
}

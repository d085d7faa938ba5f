// The Registry v2 read API, as thin routes over the pull use cases. Routes parse and throw; the one
// error handler (app.ts) turns every failure into a registry error envelope.

import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  PolicyDeniedError,
  RequestInvalidError,
  TrustgateError,
  UnsupportedError,
  UpstreamNotFoundError,
} from '../errors.js';
import type { BlobService } from '../pull/blobs.js';
import type { ManifestService, ServedManifest } from '../pull/manifests.js';
import type { PullTarget } from '../pull/target.js';
import type { TagService } from '../pull/tags.js';
import type { Policy } from '../policy/policy.js';
import { DIGEST, DOCKER_HUB, isValidRepository, TAG } from '../registry/reference.js';
import type { RegistryUpstream } from '../registry/upstream.js';
import type { Metrics } from './metrics.js';
import type { TrustStore } from '../cache/trust-store.js';
import { answer } from '../notary/offline.js';
import { isValidGun } from '../registry/reference.js';
import { METADATA_FILE_NAME } from '../trust/metadata.js';

export const API_VERSION_HEADER = { 'docker-distribution-api-version': 'registry/2.0' };

export interface RouteServices {
  readonly upstreams: ReadonlyMap<string, RegistryUpstream>;
  readonly defaultUpstream: RegistryUpstream | undefined;
  readonly policy: Policy;
  readonly manifests: ManifestService;
  readonly blobs: BlobService;
  readonly tags: TagService;
  readonly metrics: Metrics;
  /** Trust data served read-only on the Notary API (for notary/docker clients on the far side of an air gap). */
  readonly trustStore: TrustStore;
}

interface ParsedPath {
  readonly repository: string;
  readonly kind: 'manifests' | 'blobs' | 'tags';
  readonly reference: string;
}

const ROUTE = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/;
const TUF_ROUTE = /^\/v2\/(.+)\/_trust\/tuf\/(.+)\.json$/;

/**
 * The Notary read API over trustgate's store: `/v2/<GUN>/_trust/tuf/<name>.json`, so notary and
 * docker trust clients can verify against trustgate where no Notary is reachable. The files are
 * served as stored (verified when stored; clients verify them again).
 */
async function serveTrustFile(s: RouteServices, gun: string, name: string, req: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (gun.includes('%') || name.includes('%') || !isValidGun(gun) || !METADATA_FILE_NAME.test(name)) {
    throw new RequestInvalidError('NAME_INVALID', 'not a trust metadata path');
  }
  const decision = s.policy.decide(gun);
  if (decision.action === 'deny') throw new PolicyDeniedError('POLICY_DENIED', `policy denies ${gun}`);
  const store = s.trustStore;
  const bytes = await answer((role) => store.getMetadata(gun, role), name, 64 << 20, 'absent');
  if (!bytes) {
    await reply.code(404).type('application/json').send({ errors: [{ code: 'METADATA_NOT_FOUND', message: `no ${name} for ${gun}`, detail: {} }] });
    return;
  }
  await reply.type('application/json').header('content-length', String(bytes.length)).send(req.method === 'HEAD' ? undefined : bytes);
}
const TAGS_ROUTE = /^\/v2\/(.+)\/tags\/list$/;
const ANY_DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** Split `/v2/<name>/<kind>/<reference>` without decoding anything (encoded paths are refused). */
export function parsePath(path: string): ParsedPath {
  if (path.includes('%') || path.includes('\\')) throw new RequestInvalidError('NAME_INVALID', 'percent-encoded or escaped paths are not accepted');
  if (path === '/v2/_catalog') throw new UnsupportedError('the catalog is not served');
  const tags = TAGS_ROUTE.exec(path);
  if (tags) return { repository: tags[1] as string, kind: 'tags', reference: 'list' };
  const m = ROUTE.exec(path);
  if (!m) throw new UpstreamNotFoundError('NAME_UNKNOWN', 'not a registry API path');
  return { repository: m[1] as string, kind: m[2] as 'manifests' | 'blobs', reference: m[3] as string };
}

/** The digest or tag grammar for a reference (sha256 digests only: what Notary signs). */
function checkReference(kind: ParsedPath['kind'], ref: string): 'tag' | 'digest' {
  if (DIGEST.test(ref)) return 'digest';
  if (ANY_DIGEST.test(ref)) {
    throw new RequestInvalidError('DIGEST_INVALID', `${ref}: only sha256 digests in lower-case hex are accepted`);
  }
  if (kind === 'blobs') throw new RequestInvalidError('DIGEST_INVALID', `${ref} is not a digest`);
  if (!TAG.test(ref)) throw new RequestInvalidError('TAG_INVALID', `${JSON.stringify(ref)} is not a valid tag`);
  return 'tag';
}

export function registerRoutes(app: FastifyInstance, s: RouteServices): void {
  app.get('/v2/', async (_req, reply) => reply.headers(API_VERSION_HEADER).send({}));

  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const [path = '', query = ''] = (req.raw.url ?? '').split('?', 2) as [string, string?];
    const tuf = TUF_ROUTE.exec(path);
    if (tuf) return serveTrustFile(s, tuf[1] as string, tuf[2] as string, req, reply);
    const parsed = parsePath(path);
    const target = selectTarget(s, parsed.repository, new URLSearchParams(query), req.headers.accept);
    reply.headers(API_VERSION_HEADER);
    if (parsed.kind === 'tags') return s.tags.list(target, query, req, reply);
    const refKind = checkReference(parsed.kind, parsed.reference);
    if (parsed.kind === 'blobs') return s.blobs.serve(target, parsed.reference, req, reply);
    return serveManifest(s, target, parsed.reference, refKind, req, reply);
  };
  app.route({ method: ['GET', 'HEAD'], url: '/v2/*', handler });
}

// Audit loggers for warm answers: the fields of a decision that do not change between pulls are
// serialised once (a pino child), so the line per pull costs little.
const auditLoggers = new WeakMap<ServedManifest, FastifyBaseLogger>();

async function serveManifest(
  s: RouteServices,
  target: PullTarget,
  reference: string,
  refKind: 'tag' | 'digest',
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  const decisionFields = () => ({
    audit: 'manifest',
    upstream: target.upstream.name,
    repository: target.repository,
    reference,
    policy: target.decision.rule,
  });
  let m: ServedManifest;
  try {
    if (target.decision.action === 'deny') throw new PolicyDeniedError('POLICY_DENIED', `policy denies ${target.gun}`);
    m = s.manifests.hotAnswer(target, reference) ?? (refKind === 'tag' ? await s.manifests.byTag(target, reference) : await s.manifests.byDigest(target, reference));
  } catch (err) {
    const reason = err instanceof TrustgateError ? err.code : 'INTERNAL';
    const detail = err instanceof Error ? err.message : String(err);
    s.metrics.decisions.inc({ decision: 'refused', reason, upstream: target.upstream.name });
    req.log.warn({ ...decisionFields(), method: req.method, client: req.ip, decision: 'refused', reason, detail }, 'manifest refused');
    throw err;
  }
  const decision = target.decision.action === 'allow' ? 'allowed-unverified' : m.stale ? 'served-under-grace' : 'served';
  let audit = auditLoggers.get(m);
  if (audit === undefined) {
    audit = req.server.log.child({ ...decisionFields(), decision, digest: m.digest, role: m.role });
    auditLoggers.set(m, audit);
  }
  if (m.stale) {
    // expired timestamp/snapshot accepted under the offline grace: a warning on every pull
    audit.warn({ method: req.method, client: req.ip, cache: m.cache }, 'manifest served under the offline grace: trust data expired, import a fresh bundle');
  } else {
    audit.info({ method: req.method, client: req.ip, cache: m.cache }, 'manifest served');
  }
  s.metrics.decisions.inc({ decision, reason: '', upstream: target.upstream.name });
  s.metrics.cacheLookups.inc({ cache: 'manifest', result: m.cache });
  reply.headers({
    'content-type': m.mediaType,
    'content-length': String(m.body.length),
    'docker-content-digest': m.digest,
    etag: `"${m.digest}"`,
  });
  await reply.send(req.method === 'HEAD' ? undefined : m.body);
}

/**
 * Which upstream, repository and policy a request is for: containerd's `?ns=<host>` names the
 * upstream (an unknown one reaches nothing); else a first path component equal to a non-default
 * upstream's name; else the default upstream (registry mirrors).
 */
export function selectTarget(
  s: Pick<RouteServices, 'upstreams' | 'defaultUpstream' | 'policy'>,
  name: string,
  query: URLSearchParams,
  accept: string | string[] | undefined,
): PullTarget {
  const ns = query.getAll('ns');
  if (ns.length > 1) throw new RequestInvalidError('NAME_INVALID', 'ns given more than once');
  let upstream: RegistryUpstream | undefined;
  let repository = name;
  if (ns.length === 1) {
    upstream = s.upstreams.get(ns[0] as string);
    if (!upstream) throw new PolicyDeniedError('UNKNOWN_UPSTREAM', `${JSON.stringify(ns[0])} is not an upstream of this trustgate`);
  } else {
    const slash = name.indexOf('/');
    const first = slash > 0 ? name.slice(0, slash) : '';
    const prefixed = s.upstreams.get(first);
    if (prefixed && prefixed !== s.defaultUpstream) {
      upstream = prefixed;
      repository = name.slice(slash + 1);
    } else {
      upstream = s.defaultUpstream;
    }
    if (!upstream) throw new PolicyDeniedError('UNKNOWN_UPSTREAM', 'no default upstream: name one with ?ns=<registry> or a path prefix');
  }
  if (!isValidRepository(repository)) throw new RequestInvalidError('NAME_INVALID', `${JSON.stringify(repository)} is not a valid repository name`);
  // Docker Hub's official images live under library/, as `docker pull alpine` normalises it
  if (upstream.name === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
  const gun = `${upstream.name}/${repository}`;
  return { upstream, repository, gun, decision: s.policy.decide(gun), accept };
}

// Blobs are content-addressed and clients verify their digests, so they pass through untouched:
//   stream    bytes flow through trustgate without buffering (Range honoured; an upstream 307 is
//             followed here, and the Authorization header is not sent on to another host)
//   redirect  the client gets a 307 to where the upstream itself would send it (a CDN or object
//             store), or to the upstream's own blob URL: the bytes never cross trustgate
// A denied repository gets no blobs either.

import type { FastifyReply, FastifyRequest } from 'fastify';
import type {} from '@fastify/reply-from'; // reply.from
import { request, type Dispatcher } from 'undici';
import { PolicyDeniedError, UpstreamNotFoundError } from '../errors.js';
import { discard, headerValue, toTransportError } from '../http/client.js';
import { toRegistryError, registryError } from '../registry/errcode.js';
import type { PullTarget } from './target.js';

const FORWARD_REQUEST = ['range', 'if-range', 'if-none-match', 'if-modified-since'];
const FORWARD_RESPONSE = [
  'content-type',
  'content-length',
  'content-range',
  'accept-ranges',
  'docker-content-digest',
  'etag',
  'last-modified',
  'cache-control',
];

function pick(headers: Record<string, unknown>, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of names) {
    const v = headers[n];
    if (typeof v === 'string') out[n] = v;
    else if (Array.isArray(v) && typeof v[0] === 'string') out[n] = v[0];
  }
  return out;
}

export class BlobService {
  /** `redirectDispatcher` must not follow redirects: redirect mode reads the upstream's Location. */
  constructor(private readonly redirectDispatcher: Dispatcher) {}

  async serve(p: PullTarget, digest: string, req: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (p.decision.action === 'deny') throw new PolicyDeniedError('POLICY_DENIED', `policy denies ${p.gun}`);
    const url = p.upstream.url(p.repository, 'blobs', digest);
    const authorization = await p.upstream.blobAuthorization(p.repository, digest);
    if (p.upstream.config.blobs === 'redirect' && req.method === 'GET') return this.redirect(p, url, digest, authorization, reply);
    const headers = pick(req.headers, FORWARD_REQUEST);
    if (authorization) headers.authorization = authorization;
    return reply.from(url, {
      method: req.method as 'GET' | 'HEAD',
      rewriteRequestHeaders: () => headers,
      rewriteHeaders: (h) => pick(h, FORWARD_RESPONSE),
      onResponse: (_req, rep, res) => {
        if (res.statusCode < 400) {
          void rep.send(res.stream);
          return;
        }
        res.stream.resume(); // drain: the upstream's error body is not passed on
        const err =
          res.statusCode === 404
            ? toRegistryError(new UpstreamNotFoundError('BLOB_UNKNOWN', `${p.upstream.name} has no blob ${p.repository}@${digest}`))
            : registryError('UNAVAILABLE', `${p.upstream.name} answered HTTP ${res.statusCode} for ${p.repository}@${digest}`, {
                reason: 'UPSTREAM_STATUS',
                status: res.statusCode,
              });
        for (const h of FORWARD_RESPONSE) rep.removeHeader(h);
        void rep.code(err.status).type('application/json').send(err.body);
      },
      onError: (rep, { error }) => {
        const err = toRegistryError(toTransportError(url, error));
        if (rep.sent) return;
        void rep.code(err.status).type('application/json').send(err.body);
      },
    });
  }

  private async redirect(p: PullTarget, url: string, digest: string, authorization: string | undefined, reply: FastifyReply): Promise<void> {
    let res: Dispatcher.ResponseData;
    try {
      // HEAD: registries redirect HEAD as they redirect GET, and no body starts flowing
      res = await request(url, { method: 'HEAD', headers: authorization ? { authorization } : {}, dispatcher: this.redirectDispatcher });
    } catch (err) {
      throw toTransportError(url, err);
    }
    discard(res.body); // only the status and Location matter
    if (res.statusCode === 404) throw new UpstreamNotFoundError('BLOB_UNKNOWN', `${p.upstream.name} has no blob ${p.repository}@${digest}`);
    const location = res.statusCode >= 300 && res.statusCode < 400 ? headerValue(res.headers.location) : undefined;
    await reply
      .code(307)
      .header('location', location ? new URL(location, url).toString() : url)
      .header('docker-content-digest', digest)
      .send();
  }
}

// Sending a blob answer: a redirect, or the upstream's bytes streamed through with backpressure and no
// buffering (@fastify/reply-from over the blob dispatcher). An upstream error body is never passed on:
// the client gets a registry error instead. Blob bytes are never something a browser should render:
// `X-Content-Type-Options: nosniff` and a Content-Type from a short list of inert types.

import type { FastifyReply } from 'fastify';
import type {} from '@fastify/reply-from'; // reply.from
import { HttpStatusError, RedirectRefusedError, UpstreamNotFoundError } from '../errors.js';
import { toTransportError } from '../http/client.js';
import { MAX_REDIRECTS, redirectRefusal } from '../http/redirects.js';
import { BLOB_RESPONSE_HEADERS, pickHeaders, type BlobAnswer } from '../pull/blobs.js';
import type { PullTarget } from '../pull/target.js';
import { toRegistryError } from '../registry/errcode.js';

export function sendBlob(p: PullTarget, digest: string, blob: BlobAnswer, reply: FastifyReply): FastifyReply | Promise<FastifyReply> {
  if (blob.kind === 'redirect') return reply.code(307).header('location', blob.location).header('docker-content-digest', blob.digest).send();
  const { url } = blob;
  // returned, not awaited: fastify treats the reply as handled while reply-from streams the body
  return reply.from(url, {
    method: blob.method,
    rewriteRequestHeaders: () => blob.headers,
    rewriteHeaders: (h) => ({ ...pickHeaders(h, BLOB_RESPONSE_HEADERS), 'content-type': inertType(h['content-type']), 'x-content-type-options': 'nosniff' }),
    onResponse: (_req, rep, res) => {
      if (res.statusCode < 300 || res.statusCode === 304) {
        void rep.send(res.stream);
        return;
      }
      res.stream.resume(); // drain: the upstream's error body is not passed on
      const err = toRegistryError(upstreamRefusal(p, digest, res.statusCode));
      for (const h of BLOB_RESPONSE_HEADERS) rep.removeHeader(h);
      void rep.code(err.status).type('application/json').send(err.body);
    },
    onError: (rep, { error }) => {
      const err = toRegistryError(redirectRefusal(error) ?? toTransportError(url, error));
      if (rep.sent) return;
      void rep.code(err.status).type('application/json').send(err.body);
    },
  });
}

/** The error for an upstream answer that is not the blob: not found, a redirect past the cap, a failure. */
function upstreamRefusal(p: PullTarget, digest: string, status: number): Error {
  if (status === 404) return new UpstreamNotFoundError('BLOB_UNKNOWN', `${p.upstream.name} has no blob ${p.repository}@${digest}`);
  // the redirect interceptor hands a redirect on only once it has followed MAX_REDIRECTS of them
  if (status < 400) return new RedirectRefusedError(p.upstream.name, 'hops', `${p.upstream.name} redirected blob ${digest} more than ${MAX_REDIRECTS} times`);
  return new HttpStatusError(p.upstream.url(p.repository, 'blobs', digest), status, `${p.upstream.name} answered HTTP ${status} for ${p.repository}@${digest}`);
}

// what registries serve blobs as; anything else (text/html, image/svg+xml…) is sent as bytes
const INERT_TYPES = /^application\/(?:octet-stream|vnd\.[\w.+-]+|gzip|x-gzip|x-tar|tar|zstd|json)$/;

function inertType(upstream: unknown): string {
  const type = (Array.isArray(upstream) ? upstream[0] : upstream)?.toString().split(';')[0]?.trim().toLowerCase() ?? '';
  return INERT_TYPES.test(type) ? type : 'application/octet-stream';
}

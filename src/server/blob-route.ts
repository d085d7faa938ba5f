// Sending a blob answer: a redirect, or the upstream's bytes streamed through with backpressure and no
// buffering (@fastify/reply-from over the blob dispatcher). An upstream error body is never passed on:
// the client gets a registry error instead.

import type { FastifyReply } from 'fastify';
import type {} from '@fastify/reply-from'; // reply.from
import { UpstreamNotFoundError } from '../errors.js';
import { toTransportError } from '../http/client.js';
import { BLOB_RESPONSE_HEADERS, pickHeaders, type BlobAnswer } from '../pull/blobs.js';
import type { PullTarget } from '../pull/target.js';
import { registryError, toRegistryError } from '../registry/errcode.js';

export function sendBlob(p: PullTarget, digest: string, blob: BlobAnswer, reply: FastifyReply): FastifyReply | Promise<FastifyReply> {
  if (blob.kind === 'redirect') return reply.code(307).header('location', blob.location).header('docker-content-digest', blob.digest).send();
  const { url } = blob;
  // returned, not awaited: fastify treats the reply as handled while reply-from streams the body
  return reply.from(url, {
    method: blob.method,
    rewriteRequestHeaders: () => blob.headers,
    rewriteHeaders: (h) => pickHeaders(h, BLOB_RESPONSE_HEADERS),
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
      for (const h of BLOB_RESPONSE_HEADERS) rep.removeHeader(h);
      void rep.code(err.status).type('application/json').send(err.body);
    },
    onError: (rep, { error }) => {
      const err = toRegistryError(toTransportError(url, error));
      if (rep.sent) return;
      void rep.code(err.status).type('application/json').send(err.body);
    },
  });
}

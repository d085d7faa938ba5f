// tags/list: under `verify`, only the tags Docker would pull with content trust — signed in the
// accepted roles and present upstream; under `allow`, the upstream's list as it is.

import type { FastifyReply, FastifyRequest } from 'fastify';
import { PolicyDeniedError, UpstreamNotFoundError } from '../errors.js';
import type { TrustService } from './trust.js';
import type { PullTarget } from './target.js';

export class TagService {
  constructor(private readonly trust: TrustService) {}

  async list(p: PullTarget, query: string, _req: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (p.decision.action === 'deny') throw new PolicyDeniedError('POLICY_DENIED', `policy denies ${p.gun}`);
    if (p.decision.action === 'allow') {
      const upstream = await p.upstream.fetchTags(p.repository, query ? `?${query}` : '');
      if (upstream.link) reply.header('link', upstream.link);
      await reply.type('application/json').send(upstream.body);
      return;
    }
    const params = new URLSearchParams(query);
    const all = await p.upstream.fetchTags(p.repository, '');
    let tags: string[];
    try {
      const doc = JSON.parse(all.body.toString('utf8')) as { tags?: unknown };
      tags = Array.isArray(doc.tags) ? doc.tags.filter((t): t is string => typeof t === 'string') : [];
    } catch {
      throw new UpstreamNotFoundError('NAME_UNKNOWN', `${p.upstream.name} sent an unreadable tag list for ${p.repository}`);
    }
    const signed = await this.trust.signedTags(p.upstream.name, p.gun, p.decision.roles);
    let visible = tags.filter((t) => signed.has(t)).sort();
    const last = params.get('last');
    if (last) visible = visible.filter((t) => t > last);
    const n = Number(params.get('n') ?? NaN);
    if (Number.isInteger(n) && n >= 0 && visible.length > n) {
      visible = visible.slice(0, n);
      const next = new URLSearchParams(params);
      next.set('last', visible[visible.length - 1] ?? '');
      reply.header('link', `</v2/${p.repository}/tags/list?${next.toString()}>; rel="next"`);
    }
    await reply.type('application/json').send({ name: p.repository, tags: visible });
  }
}

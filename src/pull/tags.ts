// tags/list: under `verify`, only the tags that resolve to a verified digest — signed in the accepted
// roles and present upstream; under `allow`, the upstream's list as it is.

import { UpstreamNotFoundError } from '../errors.js';
import type { PullTarget } from './target.js';
import type { TrustSource } from './trust-source.js';

export interface TagList {
  /** JSON `{name, tags}` (verify) or the upstream's bytes (allow). */
  readonly body: Buffer | { readonly name: string; readonly tags: readonly string[] };
  /** The pagination Link header, when there is a next page. */
  readonly link?: string | undefined;
}

export class TagService {
  constructor(private readonly trustFor: (target: PullTarget) => TrustSource) {}

  async list(p: PullTarget, query: string): Promise<TagList> {
    if (p.decision.action === 'allow') {
      const upstream = await p.upstream.fetchTags(p.repository, query ? `?${query}` : '');
      return { body: upstream.body, link: upstream.link };
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
    const signed = await this.trustFor(p).signedTags(p, tags);
    let visible = tags.filter((t) => signed.has(t)).sort();
    const last = params.get('last');
    if (last) visible = visible.filter((t) => t > last);
    const n = Number(params.get('n') ?? NaN);
    let link: string | undefined;
    if (Number.isInteger(n) && n >= 0 && visible.length > n) {
      visible = visible.slice(0, n);
      const next = new URLSearchParams(params);
      next.set('last', visible[visible.length - 1] ?? '');
      link = `</v2/${p.repository}/tags/list?${next.toString()}>; rel="next"`;
    }
    return { body: { name: p.repository, tags: visible }, link };
  }
}

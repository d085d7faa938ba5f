// tags/list: under `verify`, only the tags that resolve to a verified digest — signed in the accepted
// roles and present upstream; under `allow`, the upstream's list as it is.

import { UpstreamNotFoundError } from '../errors.js';
import type { PullTarget } from './target.js';
import type { TrustSource } from './trust-source.js';

export interface TagList {
  /** JSON `{name, tags}` (verify) or the upstream's bytes (allow). */
  readonly body: Buffer | { readonly name: string; readonly tags: readonly string[] };
  /**
   * The query of the next page, when there is one. The route turns it into a Link on the path the
   * client asked (an upstream's own Link names its path, without trustgate's upstream prefix).
   */
  readonly next?: string | undefined;
}

export class TagService {
  constructor(private readonly trustFor: (target: PullTarget) => TrustSource) {}

  async list(p: PullTarget, query: string): Promise<TagList> {
    if (p.decision.action === 'allow') {
      const upstream = await p.upstream.fetchTags(p.repository, query ? `?${query}` : '');
      return { body: upstream.body, next: nextPageQuery(upstream.link, new URLSearchParams(query)) };
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
    let next: string | undefined;
    if (Number.isInteger(n) && n >= 0 && visible.length > n) {
      visible = visible.slice(0, n);
      const page = new URLSearchParams(params);
      page.set('last', visible[visible.length - 1] ?? '');
      next = page.toString();
    }
    return { body: { name: p.repository, tags: visible }, next };
  }
}

/**
 * The query of an upstream's `Link: <…?n=…&last=…>; rel="next"`, with the client's `ns` kept (the
 * upstream knows nothing of it). Undefined when there is no next page.
 */
function nextPageQuery(link: string | undefined, clientQuery: URLSearchParams): string | undefined {
  const open = link?.indexOf('<') ?? -1;
  const close = link?.indexOf('>', open) ?? -1;
  if (!link || open < 0 || close < 0 || !/rel="?next"?/.test(link.slice(close))) return undefined;
  let params: URLSearchParams;
  try {
    params = new URL(link.slice(open + 1, close), 'http://upstream.invalid').searchParams;
  } catch {
    return undefined;
  }
  for (const ns of clientQuery.getAll('ns')) params.set('ns', ns);
  return params.toString();
}

// Which upstream, repository and policy decision a request is for — decided once per request, before
// any use case runs. containerd's `?ns=<host>` names the upstream (an unknown one reaches nothing);
// else a first path component equal to a non-default upstream's name; else the default upstream
// (registry mirrors).

import { PolicyDeniedError, RequestInvalidError } from '../errors.js';
import type { Policy } from '../policy/policy.js';
import { DOCKER_HUB, isValidRepository } from '../registry/reference.js';
import type { RegistryUpstream } from '../registry/upstream.js';
import type { PullTarget } from './target.js';

export class Targets {
  constructor(
    readonly upstreams: ReadonlyMap<string, RegistryUpstream>,
    readonly defaultUpstream: RegistryUpstream | undefined,
    private readonly policy: Policy,
  ) {}

  /** The target of a request for repository path `name` (as the client wrote it). */
  select(name: string, query: URLSearchParams, accept: string | string[] | undefined): PullTarget {
    const { upstream, repository: raw } = this.upstreamFor(name, query);
    if (!isValidRepository(raw)) throw new RequestInvalidError('NAME_INVALID', `${JSON.stringify(raw)} is not a valid repository name`);
    // Docker Hub's official images live under library/, as `docker pull alpine` normalises it
    const repository = upstream.name === DOCKER_HUB && !raw.includes('/') ? `library/${raw}` : raw;
    const gun = `${upstream.name}/${repository}`;
    return { upstream, repository, gun, decision: this.policy.decide(gun), accept };
  }

  private upstreamFor(name: string, query: URLSearchParams): { upstream: RegistryUpstream; repository: string } {
    const ns = query.getAll('ns');
    if (ns.length > 1) throw new RequestInvalidError('NAME_INVALID', 'ns given more than once');
    if (ns.length === 1) {
      const upstream = this.upstreams.get(ns[0] as string);
      if (!upstream) throw new PolicyDeniedError('UNKNOWN_UPSTREAM', `${JSON.stringify(ns[0])} is not an upstream of this trustgate`);
      return { upstream, repository: name };
    }
    const slash = name.indexOf('/');
    const prefixed = this.upstreams.get(slash > 0 ? name.slice(0, slash) : '');
    if (prefixed && prefixed !== this.defaultUpstream) return { upstream: prefixed, repository: name.slice(slash + 1) };
    if (!this.defaultUpstream) throw new PolicyDeniedError('UNKNOWN_UPSTREAM', 'no default upstream: name one with ?ns=<registry> or a path prefix');
    return { upstream: this.defaultUpstream, repository: name };
  }
}

/** The one place a policy denial stops a request: manifests, blobs, tags and trust files alike. */
export function admit(target: Pick<PullTarget, 'gun' | 'decision'>): void {
  if (target.decision.action === 'deny') throw new PolicyDeniedError('POLICY_DENIED', `policy denies ${target.gun}`);
}

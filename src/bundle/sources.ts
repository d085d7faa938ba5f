// Where `trust export` fetches from: each named repository once (with the tags named for it), its
// Notary and registry, credentials, CA and policy decision — from the configuration `serve` uses on
// the connected side, overridden by the command line.

import type { Config, UpstreamConfig } from '../config/config.js';
import { ConfigError } from '../errors.js';
import type { NotaryRemoteOptions } from '../notary/remote.js';
import { Policy, type Decision } from '../policy/policy.js';
import { gunOf, parseImageReference } from '../registry/reference.js';
import { DOCKER_ROLES, NO_PINNING } from '../trust/index.js';

export interface ExportSourceOptions {
  readonly config?: Config | undefined;
  /** Notary URL for every repository (default: the configured upstream's, else Docker's default). */
  readonly notary?: string | undefined;
  /** Extra CA certificates (PEM text) for Notary and the registry. */
  readonly ca?: string | undefined;
  /** Images are exported too: every reference must name a tag. */
  readonly images?: boolean | undefined;
  /** The registry to export images from. */
  readonly registry?: string | undefined;
}

export interface ExportSource {
  readonly gun: string;
  readonly registry: string;
  readonly repository: string;
  readonly tags: string[];
  readonly notaryUrl: string;
  readonly ca: string | undefined;
  readonly upstream: UpstreamConfig | undefined;
  readonly decision: Decision;
}

/** Docker's default trust server: notary.docker.io for Docker Hub, else https://<registry>. */
export function defaultNotaryUrl(registry: string): string {
  return registry === 'docker.io' ? 'https://notary.docker.io' : `https://${registry}`;
}

/** The registry API URL for a registry host: Docker Hub's is registry-1.docker.io. */
function defaultRegistryUrl(registry: string): string {
  return registry === 'docker.io' ? 'https://registry-1.docker.io' : `https://${registry}`;
}

/** Repositories to export (each once, with the tags named for it). */
export function exportSources(refs: readonly string[], opts: ExportSourceOptions): ExportSource[] {
  const { config } = opts;
  const policy = config ? new Policy(config.policy, config.trust.tofu) : undefined;
  const out = new Map<string, ExportSource>();
  for (const ref of refs) {
    const parsed = parseImageReference(ref);
    if (opts.images && parsed.digest) throw new ConfigError(`${ref}: name a tag (images are exported for signed tags)`);
    const gun = gunOf(parsed);
    let source = out.get(gun);
    if (!source) {
      const upstream = config?.upstreams.find((u) => u.name === parsed.registry);
      const notaryUrl = opts.notary ?? (upstream && upstream.notary !== 'offline' ? upstream.notary : undefined) ?? defaultNotaryUrl(parsed.registry);
      const decision: Decision = policy?.decide(gun) ?? { action: 'verify', roles: DOCKER_ROLES, pinning: NO_PINNING, rule: '(none)' };
      if (decision.action === 'deny') throw new ConfigError(`${gun} is denied by the configured policy`);
      source = { gun, registry: parsed.registry, repository: parsed.repository, tags: [], notaryUrl, ca: opts.ca ?? upstream?.caPem, upstream, decision };
      out.set(gun, source);
    }
    if (parsed.tag && !source.tags.includes(parsed.tag)) source.tags.push(parsed.tag);
  }
  return [...out.values()];
}

/** The configured timeouts (or the defaults), for Notary and the registry. */
export function exportTimeouts(config: Config | undefined) {
  const t = config?.timeouts;
  return {
    connectTimeoutMs: t?.connectMs ?? 10_000,
    headersTimeoutMs: t?.headersMs ?? 60_000,
    bodyIdleTimeoutMs: t?.bodyIdleMs ?? 60_000,
    notaryTotalMs: t?.notaryTotalMs ?? 60_000,
  };
}

export function notaryOptions(src: ExportSource, config: Config | undefined): NotaryRemoteOptions {
  const { notaryTotalMs, ...timeouts } = exportTimeouts(config);
  return { ...timeouts, totalTimeoutMs: notaryTotalMs, ca: src.ca, credentials: src.upstream?.notaryCredentials, allowedRealms: src.upstream?.allowedRealms };
}

/** The upstream configuration images are fetched through (streamed; manifests bounded). */
export function registryUpstreamConfig(src: ExportSource, registry: string | undefined): UpstreamConfig {
  const u = src.upstream;
  return {
    name: src.registry,
    registry: (registry ?? u?.registry ?? defaultRegistryUrl(src.registry)).replace(/\/+$/, ''),
    notary: src.notaryUrl,
    maxStalenessMs: 0,
    caPem: src.ca,
    default: false,
    credentials: u?.credentials,
    notaryCredentials: u?.notaryCredentials,
    allowedRealms: u?.allowedRealms ?? [],
    blobs: 'stream',
  };
}

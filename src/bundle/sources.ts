// Where `trust export` fetches from. The configuration `serve` uses on the connected side (or the
// embedded defaults) with the command line applied to it — `--notary`, `--ca`, `--registry`, and an
// upstream for every registry a reference names — so the Notary clients, registry clients and policy
// are the ones the composition root builds from any configuration (server/services.ts): the same
// timeouts, limits, pins and credentials as `serve`.

import type { Config, UpstreamConfig } from '../config/config.js';
import { ConfigError } from '../errors.js';
import { defaultNotaryUrl } from '../notary/remote.js';
import { DOCKER_HUB, gunOf, parseImageReference } from '../registry/reference.js';

export interface ExportSourceOptions {
  /** The connected side's configuration (default: the embedded defaults). */
  readonly config: Config;
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
  /** The registry name: the upstream of the export configuration that serves it. */
  readonly registry: string;
  readonly repository: string;
  readonly tags: string[];
}

/** The registry API URL for a registry host: Docker Hub's is registry-1.docker.io. */
function defaultRegistryUrl(registry: string): string {
  return registry === DOCKER_HUB ? 'https://registry-1.docker.io' : `https://${registry}`;
}

/** Repositories to export (each once, with the tags named for it). */
export function exportSources(refs: readonly string[], opts: Pick<ExportSourceOptions, 'images'>): ExportSource[] {
  const out = new Map<string, ExportSource>();
  for (const ref of refs) {
    const parsed = parseImageReference(ref);
    if (opts.images && parsed.digest) throw new ConfigError(`${ref}: name a tag (images are exported for signed tags)`);
    const gun = gunOf(parsed);
    const source = out.get(gun) ?? { gun, registry: parsed.registry, repository: parsed.repository, tags: [] };
    out.set(gun, source);
    if (parsed.tag && !source.tags.includes(parsed.tag)) source.tags.push(parsed.tag);
  }
  return [...out.values()];
}

/**
 * The configuration an export runs on: one upstream per registry the sources name — the configured
 * one (an offline upstream's Notary is Docker's default) or a new one — with the command line's
 * Notary, CA and registry applied.
 */
export function exportConfig(sources: readonly ExportSource[], opts: ExportSourceOptions): Config {
  const upstreams = new Map<string, UpstreamConfig>();
  for (const { registry } of sources) {
    if (upstreams.has(registry)) continue;
    const configured = opts.config.upstreams.find((u) => u.name === registry);
    const base: UpstreamConfig = configured ?? {
      name: registry,
      registry: defaultRegistryUrl(registry),
      notary: defaultNotaryUrl(registry),
      maxStalenessMs: 0,
      default: false,
      allowedRealms: [],
      blobs: 'stream',
    };
    upstreams.set(registry, {
      ...base,
      notary: opts.notary ?? (base.notary === 'offline' ? defaultNotaryUrl(registry) : base.notary),
      registry: (opts.registry ?? base.registry).replace(/\/+$/, ''),
      caPem: opts.ca ?? base.caPem,
    });
  }
  return { ...opts.config, upstreams: [...upstreams.values()] };
}

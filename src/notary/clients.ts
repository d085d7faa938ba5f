// The Notary side of every upstream, built once from the configuration: a remote (or the store, for
// `notary: offline`) and the update workflow over it, with the configured timeouts, limits, pins and
// credentials. `serve`, `warm`, `check` and `trust export/import` all take theirs from here.

import type { TrustStore } from '../cache/trust-store.js';
import type { Config, UpstreamConfig } from '../config/config.js';
import type { Policy } from '../policy/policy.js';
import type { TrustPinning } from '../trust/index.js';
import { StoreFetcher } from './offline.js';
import { NotaryRemote, type MetadataFetcher } from './remote.js';
import { TrustUpdater, type UpdaterEvent } from './updater.js';

export interface NotaryClientOptions {
  readonly store: TrustStore;
  readonly policy: Policy;
  /** The reference clock (epoch ms) for trust decisions. */
  readonly clock?: () => number;
  readonly onEvent?: (e: UpdaterEvent) => void;
  /** Time to response headers of every Notary request (metrics). */
  readonly observe?: (upstream: string) => (seconds: number, outcome: 'ok' | 'error') => void;
  /** Where every upstream's trust data comes from instead of its Notary (`trust import`: the bundle). */
  readonly fetcher?: MetadataFetcher;
}

export interface NotaryClients {
  /** The Notary server of an upstream; absent for offline upstreams. */
  readonly remotes: ReadonlyMap<string, NotaryRemote>;
  /** The update workflow of an upstream. */
  updaterFor(upstream: string): TrustUpdater;
  /** Per repository refreshed: when its trusted root's certificates expire (metrics). */
  rootCertificateExpiries(): Iterable<{ gun: string; expires: number }>;
  close(): Promise<void>;
}

/** A Notary client with the configuration's timeouts and an upstream's TLS roots and credentials. */
export function notaryRemoteFor(config: Config, u: { readonly notary: string } & Pick<UpstreamConfig, 'caPem' | 'notaryCredentials' | 'allowedRealms'>, observe?: (seconds: number, outcome: 'ok' | 'error') => void): NotaryRemote {
  const t = config.timeouts;
  return new NotaryRemote(u.notary, {
    connectTimeoutMs: t.connectMs,
    headersTimeoutMs: t.headersMs,
    bodyIdleTimeoutMs: t.bodyIdleMs,
    totalTimeoutMs: t.notaryTotalMs,
    ca: u.caPem,
    credentials: u.notaryCredentials,
    allowedRealms: u.allowedRealms,
    observe,
  });
}

export function buildNotaryClients(config: Config, o: NotaryClientOptions): NotaryClients {
  const remotes = new Map<string, NotaryRemote>();
  const updaters = new Map<string, TrustUpdater>();
  const clock = o.clock;
  for (const u of config.upstreams) {
    // offline upstreams verify against imported trust data only; Sigstore-only ones have no Notary
    const remote = u.notary === undefined || u.notary === 'offline' || o.fetcher ? undefined : notaryRemoteFor(config, { ...u, notary: u.notary }, o.observe?.(u.name));
    if (remote) remotes.set(u.name, remote);
    updaters.set(
      u.name,
      new TrustUpdater({
        fetcher: o.fetcher ?? remote ?? new StoreFetcher(o.store),
        store: o.store,
        maxStalenessMs: u.maxStalenessMs,
        pinning: (gun): TrustPinning => o.policy.decide(gun).pinning,
        limits: { rootMaxBytes: config.trust.rootMaxBytes },
        ...(clock ? { clock: () => new Date(clock()) } : {}),
        ...(o.onEvent ? { onEvent: o.onEvent } : {}),
      }),
    );
  }
  return {
    remotes,
    updaterFor: (name) => {
      const u = updaters.get(name);
      if (!u) throw new Error(`no upstream named ${name}`);
      return u;
    },
    rootCertificateExpiries: () => [...updaters.values()].flatMap((u) => [...u.rootCertificateExpiries()]),
    close: async () => {
      await Promise.allSettled([...remotes.values()].map((r) => r.close()));
    },
  };
}

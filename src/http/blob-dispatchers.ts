// Connections for blob bytes: one pool per origin, each upstream's origin with its extra trust roots.
// `follow` follows upstream redirects (undici drops Authorization on a cross-origin hop) under the
// redirect policy of the upstream the blob was asked of (redirects.ts): each upstream has its own
// agent, and a request goes to the agent of its origin, so one upstream's allowed hosts never serve
// another's redirects. `direct` does not follow (redirect mode reads the Location itself).

import { rootCertificates } from 'node:tls';
import { Agent, Dispatcher, interceptors, Pool } from 'undici';
import type { Config, UpstreamConfig } from '../config/config.js';
import { MAX_REDIRECTS, RedirectPolicy } from './redirects.js';

export interface BlobDispatchers {
  readonly follow: Dispatcher;
  readonly direct: Dispatcher;
  /** Each upstream's redirect policy, by upstream name. */
  readonly redirects: ReadonlyMap<string, RedirectPolicy>;
}

export function blobDispatchers(config: Config): BlobDispatchers {
  const caByOrigin = new Map<string, string>();
  for (const u of config.upstreams) if (u.caPem) caByOrigin.set(new URL(u.registry).origin, u.caPem);
  const t = config.timeouts;
  const connectOptions = (origin: string | URL) => {
    const ca = caByOrigin.get(new URL(origin.toString()).origin);
    return { timeout: t.connectMs, ...(ca ? { ca: [...rootCertificates, ca] } : {}) };
  };
  const pool = (origin: string | URL, opts: object, connect: Pool.Options['connect']): Dispatcher =>
    new Pool(origin, { ...opts, connect, headersTimeout: t.headersMs, bodyTimeout: t.bodyIdleMs });

  const redirects = new Map<string, RedirectPolicy>();
  const byOrigin = new Map<string, Dispatcher>();
  for (const [origin, upstreams] of groupByOrigin(config.upstreams)) {
    // upstreams sharing a registry origin share the hosts they list
    const policy = new RedirectPolicy({ origin, allowedHosts: upstreams.flatMap((u) => u.blobRedirectHosts ?? []) });
    for (const u of upstreams) redirects.set(u.name, policy);
    const agent = new Agent({ factory: (o, opts) => pool(o, opts, policy.connector(connectOptions(o))) });
    byOrigin.set(origin, agent.compose(interceptors.redirect({ maxRedirections: MAX_REDIRECTS })));
  }
  const direct = new Agent({ factory: (o, opts) => pool(o, opts, connectOptions(o)) });
  const publicOnly = new RedirectPolicy({ allowedHosts: [] });
  const elsewhere = new Agent({ factory: (o, opts) => pool(o, opts, publicOnly.connector(connectOptions(o))) });
  return { follow: new ByOrigin(byOrigin, elsewhere), direct, redirects };
}

function groupByOrigin(upstreams: readonly UpstreamConfig[]): Map<string, UpstreamConfig[]> {
  const out = new Map<string, UpstreamConfig[]>();
  for (const u of upstreams) {
    const origin = new URL(u.registry).origin;
    out.set(origin, [...(out.get(origin) ?? []), u]);
  }
  return out;
}

/** Dispatches each request to the dispatcher of its origin; requests elsewhere are not followed. */
class ByOrigin extends Dispatcher {
  constructor(
    private readonly byOrigin: ReadonlyMap<string, Dispatcher>,
    private readonly fallback: Dispatcher,
  ) {
    super();
  }

  override dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const origin = opts.origin === undefined ? undefined : new URL(opts.origin.toString()).origin;
    return (this.byOrigin.get(origin ?? '') ?? this.fallback).dispatch(opts, handler);
  }

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    const done = Promise.all([...this.byOrigin.values(), this.fallback].map((d) => d.close())).then(() => undefined);
    if (!callback) return done;
    void done.then(callback);
  }

  override destroy(): Promise<void>;
  override destroy(err: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    const err = typeof a === 'function' ? null : (a ?? null);
    const callback = typeof a === 'function' ? a : b;
    const done = Promise.all([...this.byOrigin.values(), this.fallback].map((d) => d.destroy(err))).then(() => undefined);
    if (!callback) return done;
    void done.then(callback);
  }
}

// Connections for blob bytes: one pool per origin, each upstream's origin with its extra trust roots.
// `follow` follows upstream redirects (undici drops Authorization on a cross-origin hop); `direct`
// does not (redirect mode reads the Location itself).

import { rootCertificates } from 'node:tls';
import { Agent, interceptors, Pool, type Dispatcher } from 'undici';
import type { Config } from '../config/config.js';

export interface BlobDispatchers {
  readonly follow: Dispatcher;
  readonly direct: Dispatcher;
}

export function blobDispatchers(config: Config): BlobDispatchers {
  const caByOrigin = new Map<string, string>();
  for (const u of config.upstreams) if (u.caPem) caByOrigin.set(new URL(u.registry).origin, u.caPem);
  const t = config.timeouts;
  const factory = (origin: string | URL, opts: object): Dispatcher => {
    const ca = caByOrigin.get(new URL(origin.toString()).origin);
    return new Pool(origin, {
      ...opts,
      connect: { timeout: t.connectMs, ...(ca ? { ca: [...rootCertificates, ca] } : {}) },
      headersTimeout: t.headersMs,
      bodyTimeout: t.bodyIdleMs,
    });
  };
  const direct = new Agent({ factory });
  const follow = new Agent({ factory }).compose(interceptors.redirect({ maxRedirections: 5 }));
  return { follow, direct };
}

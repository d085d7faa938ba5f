// Where an upstream may send trustgate (blob streaming) or its clients (redirect mode): its own origin,
// the hosts the operator listed for it (`blobRedirectHosts`, exact host[:port]), and otherwise public
// addresses only — never loopback, private, link-local, metadata or the other special ranges
// (address.ts), which would make trustgate a way into the network behind it.
//
// The check is on addresses, not names: a name is resolved and every address it resolves to must be
// public before anything connects (a lookup that refuses), and the address a connection actually
// reached is checked again (socket.remoteAddress). Redirect chains are capped.

import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOptions } from 'node:dns';
import type { Socket } from 'node:net';
import { buildConnector } from 'undici';
import { RedirectRefusedError } from '../errors.js';
import { classifyAddress, isPublicAddress } from './address.js';

/** Redirects followed for one blob before trustgate gives up. */
export const MAX_REDIRECTS = 5;

export interface RedirectRules {
  /** The upstream's own origin (`https://registry.example.com:5000`): its addresses are the operator's choice. */
  readonly origin?: string | undefined;
  /** Hosts (`host` or `host:port`, as in the URL) the upstream may redirect to at any address. */
  readonly allowedHosts: readonly string[];
}

type LookupFn = (hostname: string, options: LookupAllOptions, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

const lookupAll: LookupFn = (hostname, options, callback) => dnsLookup(hostname, options, callback);

export class RedirectPolicy {
  private readonly origin: URL | undefined;
  private readonly allowed: ReadonlySet<string>;

  constructor(
    rules: RedirectRules,
    private readonly lookup: LookupFn = lookupAll,
  ) {
    this.origin = rules.origin === undefined ? undefined : new URL(rules.origin);
    this.allowed = new Set(rules.allowedHosts.map((h) => h.toLowerCase()));
  }

  /** May connections to `url`'s host go to any address (the upstream's own origin, or a listed host)? */
  anyAddress(url: Pick<URL, 'protocol' | 'host'>): boolean {
    const host = url.host.toLowerCase();
    return (url.protocol === this.origin?.protocol && host === this.origin.host) || this.allowed.has(host);
  }

  /**
   * Check a redirect target before handing it to a client (redirect mode): http(s), and, unless its
   * host is allowed any address, an address literal that is public or a name whose every address is.
   * The client resolves the name again; what it finds then is beyond trustgate's reach.
   */
  async checkLocation(location: URL): Promise<void> {
    if (location.protocol !== 'https:' && location.protocol !== 'http:') {
      throw new RedirectRefusedError(location.href, 'scheme', `the upstream redirected to a ${location.protocol} URL`);
    }
    if (this.anyAddress(location)) return;
    const range = classifyAddress(location.hostname);
    if (range !== undefined) {
      if (range !== 'public') throw refused(location.host, location.hostname, range);
      return;
    }
    const addresses = await new Promise<LookupAddress[]>((resolve, reject) =>
      this.lookup(location.hostname, { all: true }, (err, found) => (err ? reject(err) : resolve(found))),
    ).catch((cause: unknown) => {
      throw new RedirectRefusedError(location.host, 'address', `the upstream redirected to ${location.host}, which does not resolve (${String((cause as NodeJS.ErrnoException).code ?? cause)})`);
    });
    const bad = addresses.find((a) => !isPublicAddress(a.address));
    if (bad || addresses.length === 0) throw refused(location.host, bad?.address ?? 'no address', bad ? classifyAddress(bad.address) : undefined);
  }

  /**
   * An undici connector that opens connections as `buildConnector(options)` would, but to hosts not
   * allowed any address only when every address of the name, and the address reached, are public.
   */
  connector(options: buildConnector.BuildOptions): buildConnector.connector {
    const open = buildConnector(options);
    const guarded = buildConnector({ ...options, lookup: this.publicOnlyLookup() } as buildConnector.BuildOptions);
    return (target, callback) => {
      if (this.anyAddress({ protocol: target.protocol, host: target.host ?? target.hostname })) {
        open(target, callback);
        return;
      }
      const host = target.host ?? target.hostname;
      const literal = classifyAddress(target.hostname);
      if (literal !== undefined && literal !== 'public') {
        callback(refused(host, target.hostname, literal), null);
        return;
      }
      guarded(target, (err, socket) => {
        if (err) return callback(err, null);
        const reached = (socket as Socket).remoteAddress ?? '';
        if (isPublicAddress(reached)) return callback(null, socket as Socket);
        (socket as Socket).destroy();
        callback(refused(host, reached, classifyAddress(reached)), null);
      });
    };
  }

  /** A dns.lookup for net.connect that fails when any address of the name is not public. */
  private publicOnlyLookup() {
    return (hostname: string, options: LookupOptions, callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void) => {
      this.lookup(hostname, { ...options, all: true }, (err, addresses) => {
        if (err) return callback(err, '');
        const bad = addresses.find((a) => !isPublicAddress(a.address));
        if (bad) return callback(refused(hostname, bad.address, classifyAddress(bad.address)), '');
        if (options.all) return callback(null, addresses);
        const first = addresses[0] as LookupAddress;
        callback(null, first.address, first.family);
      });
    };
  }
}

function refused(host: string, address: string, range: string | undefined): RedirectRefusedError {
  return new RedirectRefusedError(
    host,
    'address',
    `the upstream redirected to ${host} (${address}: ${range ?? 'not public'}); list it in the upstream's blobRedirectHosts to allow it`,
  );
}

/** The error that stopped a request, if it was a refused redirect (undici may wrap it). */
export function redirectRefusal(err: unknown): RedirectRefusedError | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof RedirectRefusedError) return e;
  }
  return undefined;
}

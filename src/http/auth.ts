// Upstream authentication: anonymous, basic, and the bearer-token flow from a `WWW-Authenticate`
// challenge (distribution docs/spec/auth/token.md), used for registries and Notary alike.
//
// Credentials leave only for the upstream's own host, or for a token realm on the same registrable
// domain (distribution proxy realmAllowed), or for realms the operator listed explicitly. A realm
// elsewhere is refused outright: following it would let an upstream aim our requests anywhere.

import { getDomain } from 'tldts';
import { AuthError, HttpStatusError, redactUrl } from '../errors.js';
import { headerValue, type BufferedResponse, type GetOptions, type HttpClient } from './client.js';

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

export interface AuthOptions {
  readonly credentials?: Credentials | undefined;
  /** Token realms allowed besides those on the upstream's own domain: origins with an optional path prefix. */
  readonly allowedRealms?: readonly string[] | undefined;
}

export interface Challenge {
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

const MAX_TOKEN_RESPONSE = 64 * 1024;
const DEFAULT_TOKEN_TTL_S = 60;

/** Parse `WWW-Authenticate` (RFC 7235): `Bearer realm="…",service="…"` and friends. */
export function parseChallenges(header: string | undefined): Challenge[] {
  if (!header) return [];
  const out: Challenge[] = [];
  const re = /\s*([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)(?:\s+|$)((?:\s*,?\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+\s*=\s*(?:"(?:[^"\\]|\\.)*"|[^\s,]*))*)\s*,?/y;
  let pos = 0;
  while (pos < header.length) {
    re.lastIndex = pos;
    const m = re.exec(header);
    if (!m || m[0].length === 0) break;
    pos = re.lastIndex;
    const params: Record<string, string> = Object.create(null);
    for (const p of (m[2] ?? '').matchAll(/([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g)) {
      params[(p[1] as string).toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? '');
    }
    out.push({ scheme: (m[1] as string).toLowerCase(), params });
  }
  return out;
}

/**
 * distribution realmAllowed: the upstream's own host, or the same registrable domain (never for IPs or
 * localhost), or an `allowedRealms` entry — with parsed URLs, never string prefixes: a realm carrying
 * userinfo (`https://auth.example.org@evil.net/`) is refused, and an https upstream's credentials
 * never go to a plain-http realm unless one is listed.
 */
export function realmAllowed(upstream: URL, realm: string, extra: readonly string[] = []): boolean {
  let r: URL;
  try {
    r = new URL(realm);
  } catch {
    return false;
  }
  if (r.protocol !== 'https:' && r.protocol !== 'http:') return false;
  if (r.username !== '' || r.password !== '') return false;
  if (extra.some((entry) => realmMatches(r, entry))) return true;
  if (upstream.protocol === 'https:' && r.protocol !== 'https:') return false;
  if (r.host === upstream.host) return true;
  const literalOrLocal = (h: string) => h === 'localhost' || /^[\d.]+$/.test(h) || h.startsWith('[');
  if (literalOrLocal(r.hostname) || literalOrLocal(upstream.hostname)) return false;
  const a = getDomain(r.hostname);
  const b = getDomain(upstream.hostname);
  return a !== null && b !== null && a === b;
}

/**
 * Does an `allowedRealms` entry admit `realm`? Scheme, host and port must be equal (URL parsing
 * lower-cases the host and drops a default port); the entry's path is a prefix on segment
 * boundaries: `https://auth.example.org/token` admits `/token` and `/token/v2`, not `/tokens`.
 */
export function realmMatches(realm: URL, entry: string): boolean {
  let e: URL;
  try {
    e = new URL(entry);
  } catch {
    return false;
  }
  if (e.username !== '' || e.password !== '' || e.search !== '' || e.hash !== '') return false;
  if (e.protocol !== realm.protocol || e.hostname !== realm.hostname || e.port !== realm.port) return false;
  const base = e.pathname.replace(/\/+$/, '');
  return base === '' || realm.pathname === base || realm.pathname.startsWith(`${base}/`);
}

interface CachedToken {
  readonly header: string;
  readonly expiresAt: number;
}

/**
 * Authorises requests to one upstream. Tokens are cached per scope until they expire; `get` retries
 * once with credentials after a 401 challenge.
 */
export class UpstreamAuth {
  private readonly tokens = new Map<string, CachedToken>();
  private readonly inflight = new Map<string, Promise<string | undefined>>();
  private usesBasic = false;
  private readonly anonymousUntil = new Map<string, number>();

  constructor(
    private readonly upstream: URL,
    private readonly http: HttpClient,
    private readonly opts: AuthOptions = {},
    private readonly now: () => number = Date.now,
  ) {}

  /** GET `url` (on this upstream) for `scope`, answering one auth challenge if it comes. */
  async get(url: string, scope: string, opts: GetOptions): Promise<BufferedResponse> {
    const cached = this.cachedHeader(scope);
    const first = await this.http.getBuffered(url, withAuth(opts, cached));
    if (first.status !== 401) return first;
    const header = await this.authorize(first, scope);
    if (header === undefined) return first;
    const second = await this.http.getBuffered(url, withAuth(opts, header));
    if (second.status === 401) this.tokens.delete(scope);
    return second;
  }

  /**
   * The Authorization header to send for `scope`, learning it (with one HEAD of `probeUrl`) when none
   * is cached. Undefined when the upstream serves the scope anonymously.
   */
  async authorizationFor(scope: string, probeUrl: string): Promise<string | undefined> {
    const cached = this.cachedHeader(scope);
    if (cached) return cached;
    if ((this.anonymousUntil.get(scope) ?? 0) > this.now()) return undefined;
    const res = await this.get(probeUrl, scope, { method: 'HEAD', maxBytes: 0, tooLarge: () => new AuthError(probeUrl, 'unexpected body') });
    const header = this.cachedHeader(scope);
    if (!header && res.status !== 401) this.anonymousUntil.set(scope, this.now() + DEFAULT_TOKEN_TTL_S * 1000);
    return header;
  }

  /** The Authorization header for a 401 response's challenge, or undefined if none can be met. */
  async authorize(unauthorized: Pick<BufferedResponse, 'headers'>, scope: string): Promise<string | undefined> {
    const challenges = parseChallenges(headerValue(unauthorized.headers['www-authenticate']));
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (bearer) return this.bearerToken(bearer, scope);
    if (challenges.some((c) => c.scheme === 'basic') && this.opts.credentials) {
      this.usesBasic = true; // send it up front from now on
      return basicHeader(this.opts.credentials);
    }
    return undefined;
  }

  /** A still-valid cached Authorization header for the scope. */
  cachedHeader(scope: string): string | undefined {
    const t = this.tokens.get(scope);
    if (t && t.expiresAt > this.now()) return t.header;
    if (t) this.tokens.delete(scope);
    return this.opts.credentials && this.usesBasic ? basicHeader(this.opts.credentials) : undefined;
  }

  private bearerToken(challenge: Challenge, scope: string): Promise<string | undefined> {
    const key = `${challenge.params.realm ?? ''} ${challenge.params.service ?? ''} ${scope}`;
    let p = this.inflight.get(key);
    if (!p) {
      p = this.fetchToken(challenge, scope).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  private async fetchToken(challenge: Challenge, scope: string): Promise<string | undefined> {
    const realm = challenge.params.realm;
    if (!realm) throw new AuthError(this.upstream.toString(), 'the bearer challenge names no token realm');
    if (!realmAllowed(this.upstream, realm, this.opts.allowedRealms)) {
      throw new AuthError(
        realm,
        `token realm ${redactUrl(realm)} is not on ${this.upstream.host}'s domain; list it in allowedRealms to trust it`,
      );
    }
    const u = new URL(realm);
    if (challenge.params.service) u.searchParams.set('service', challenge.params.service);
    u.searchParams.set('scope', scope);
    const headers: Record<string, string> = {};
    if (this.opts.credentials) headers.authorization = basicHeader(this.opts.credentials);
    const res = await this.http.getBuffered(u.toString(), {
      headers,
      maxBytes: MAX_TOKEN_RESPONSE,
      tooLarge: () => new AuthError(realm, 'token response is too large'),
    });
    if (res.status === 401 || res.status === 403) {
      throw new AuthError(realm, `token realm ${redactUrl(realm)} refused the credentials (HTTP ${res.status})`);
    }
    if (res.status !== 200) throw new HttpStatusError(u.toString(), res.status);
    let doc: unknown;
    try {
      doc = JSON.parse(res.body.toString('utf8'));
    } catch (cause) {
      throw new AuthError(realm, 'token response is not JSON', { cause });
    }
    const o = (doc ?? {}) as Record<string, unknown>;
    const token = typeof o.token === 'string' ? o.token : typeof o.access_token === 'string' ? o.access_token : undefined;
    if (!token) throw new AuthError(realm, 'token response has no token');
    const ttl = typeof o.expires_in === 'number' && o.expires_in > 0 ? o.expires_in : DEFAULT_TOKEN_TTL_S;
    const header = `Bearer ${token}`;
    // renew a little early so a token never expires between the check and its use
    this.tokens.set(scope, { header, expiresAt: this.now() + Math.max(1, ttl * 0.9) * 1000 });
    return header;
  }
}

function withAuth(opts: GetOptions, header: string | undefined): GetOptions {
  if (!header) return opts;
  return { ...opts, headers: { ...(opts.headers ?? {}), authorization: header } };
}

function basicHeader(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

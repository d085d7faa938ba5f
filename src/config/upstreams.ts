// The `upstreams` section: each registry clients name, its Notary (or `offline`), TLS roots,
// credentials from the environment, and which upstream serves requests that name none.

import type { Credentials, UpstreamConfig } from './config.js';
import { bad, bool, httpUrl, isObj, mapping, onlyKnown, optStr, parseDuration, readPem, str, strList, type Ctx, type Obj } from './parse.js';
import { isValidRegistryHost } from '../registry/reference.js';

const MAX_STALENESS_MS = 365 * 86_400_000;
const UPSTREAM_KEYS = ['name', 'registry', 'notary', 'offline', 'ca', 'default', 'usernameEnv', 'passwordEnv', 'notaryAuth', 'allowedRealms', 'blobs', 'blobRedirectHosts'];

/**
 * All upstreams, and what an operator should hear at start. A lone upstream is the default unless
 * the file says `default: false`: otherwise every pull that names no upstream would be refused.
 */
export async function parseUpstreams(raw: unknown, ctx: Ctx): Promise<{ upstreams: UpstreamConfig[]; notices: string[] }> {
  if (!Array.isArray(raw) || raw.length === 0) bad('upstreams', 'must list at least one upstream');
  const parsed = await Promise.all(raw.map((u, i) => parseUpstream(u, i, ctx)));
  const names = new Set<string>();
  for (const u of parsed) {
    if (names.has(u.name)) bad('upstreams', `${u.name} is listed twice`);
    names.add(u.name);
  }
  if (parsed.filter((u) => u.default).length > 1) bad('upstreams', 'at most one upstream can be the default');
  const lone = parsed.length === 1 && (raw[0] as Obj).default === undefined;
  const upstreams = lone ? parsed.map((u) => ({ ...u, default: true })) : parsed;
  const notices: string[] = [];
  if (!upstreams.some((u) => u.default)) {
    notices.push(
      `no upstream is the default: requests must name one (a path prefix such as /v2/${upstreams[0]?.name}/… or containerd's ?ns=); ` +
        'dockerd registry-mirrors and clients addressing trustgate directly will be refused (set default: true on one upstream)',
    );
  }
  return { upstreams, notices };
}

async function parseUpstream(v: unknown, i: number, ctx: Ctx): Promise<UpstreamConfig> {
  const path = `upstreams[${i}]`;
  if (!isObj(v)) bad(path, 'must be a mapping');
  noPassword(v, path);
  if (isObj(v.notaryAuth)) noPassword(v.notaryAuth, `${path}.notaryAuth`);
  onlyKnown(v, path, UPSTREAM_KEYS);
  const name = str(v, 'name', path);
  if (!isValidRegistryHost(name)) bad(`${path}.name`, `${JSON.stringify(name)} must be a registry host name (lower case, optional :port)`);
  const blobs = str(v, 'blobs', path, 'stream');
  if (blobs !== 'stream' && blobs !== 'redirect') bad(`${path}.blobs`, 'must be stream or redirect');
  const ca = optStr(v, 'ca', path);
  const notary = optStr(v, 'notary', path);
  const credentials = credentialsFrom(v, path, ctx);
  const notaryAuth = v.notaryAuth === undefined ? undefined : credentialsFrom(mapping(v.notaryAuth, `${path}.notaryAuth`, ['usernameEnv', 'passwordEnv']), `${path}.notaryAuth`, ctx);
  return {
    name,
    registry: httpUrl(str(v, 'registry', path), `${path}.registry`),
    notary: notary === undefined || notary === 'offline' ? notary : httpUrl(notary, `${path}.notary`),
    maxStalenessMs: offlineGrace(v.offline, notary, path),
    caPem: ca ? await readPem(ca, `${path}.ca`, ctx) : undefined,
    default: bool(v, 'default', path, false),
    credentials,
    notaryCredentials: notaryAuth ?? credentials,
    allowedRealms: strList(v, 'allowedRealms', path, []).map((r, j) => httpUrl(r, `${path}.allowedRealms[${j}]`)),
    blobRedirectHosts: redirectHosts(v, path),
    blobs,
  };
}

/** `offline.maxStaleness`: only for `notary: offline`, bounded to a year. */
function offlineGrace(raw: unknown, notary: string | undefined, path: string): number {
  const offline = mapping(raw, `${path}.offline`, ['maxStaleness']);
  if (offline.maxStaleness === undefined) return 0;
  if (notary !== 'offline') bad(`${path}.offline.maxStaleness`, 'a grace for expired trust data is only for upstreams with notary: offline');
  const ms = parseDuration(offline.maxStaleness, `${path}.offline.maxStaleness`);
  if (ms > MAX_STALENESS_MS) bad(`${path}.offline.maxStaleness`, 'is bounded: at most 365d');
  return ms;
}

function noPassword(o: Obj, path: string): void {
  if (o.password !== undefined) bad(`${path}.password`, 'passwords are read from the environment: use passwordEnv');
}

/** Credentials named by environment variables (`usernameEnv`, `passwordEnv`): never in the file. */
function credentialsFrom(o: Obj, path: string, ctx: Ctx): Credentials | undefined {
  const userEnv = optStr(o, 'usernameEnv', path);
  const passEnv = optStr(o, 'passwordEnv', path);
  if (!userEnv && !passEnv) return undefined;
  if (!userEnv || !passEnv) bad(path, 'usernameEnv and passwordEnv go together');
  const username = ctx.env[userEnv];
  const password = ctx.env[passEnv];
  if (username === undefined || password === undefined) bad(path, `environment variables ${userEnv} and ${passEnv} must be set`);
  return { username, password };
}

/** `blobRedirectHosts`: exact `host` or `host:port` entries (a bracketed IPv6 literal too), lower-cased. */
function redirectHosts(v: Obj, path: string): string[] {
  const hosts = strList(v, 'blobRedirectHosts', path, []).map((h) => h.toLowerCase());
  for (const h of hosts) if (!/^(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::\d{1,5})?$/.test(h)) bad(`${path}.blobRedirectHosts`, `${h} is not host[:port]`);
  return hosts;
}

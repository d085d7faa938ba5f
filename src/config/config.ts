// trustgate's configuration: YAML (config/example.yaml documents every key), embedded defaults when no
// file is given, secrets only from the environment. Validation names the exact key that is wrong.

import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../errors.js';
import { checkTrustCoverage, parseRuleTrust, type SigstorePolicy, type TrustMode } from './sigstore.js';

export type PolicyAction = 'verify' | 'allow' | 'deny';
export type BlobMode = 'stream' | 'redirect';

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

export interface UpstreamConfig {
  /** The registry name clients use; GUN = <name>/<repository>. */
  readonly name: string;
  readonly registry: string;
  /** The Notary server URL, or 'offline': verify against imported trust data only; undefined: Sigstore only. */
  readonly notary: string | undefined;
  /** For offline upstreams: how long past expiry timestamp/snapshot metadata is still accepted (ms). */
  readonly maxStalenessMs: number;
  /** PEM of extra trust roots for this upstream's TLS (registry and Notary). */
  readonly caPem?: string | undefined;
  readonly default: boolean;
  readonly credentials?: Credentials | undefined;
  readonly notaryCredentials?: Credentials | undefined;
  readonly allowedRealms: readonly string[];
  readonly blobs: BlobMode;
}

export interface PolicyRule {
  readonly match: string;
  readonly action: PolicyAction;
  readonly roles: readonly string[];
  readonly pinKeys: readonly string[];
  /** PEM of CA certificates that must have issued the root certificate. */
  readonly pinCaPem?: string | undefined;
  /** Which signatures a verify rule accepts (config/sigstore.ts). */
  readonly trust: TrustMode;
  readonly sigstore?: SigstorePolicy | undefined;
}

export interface Config {
  readonly listen: { readonly host: string; readonly port: number };
  readonly redis?: string | undefined;
  readonly redisPrefix: string;
  readonly upstreams: readonly UpstreamConfig[];
  readonly policy: readonly PolicyRule[];
  readonly trust: {
    readonly refreshIntervalMs: number;
    readonly tofu: boolean;
    readonly rootMaxBytes: number;
    /** Without Redis: the directory `trustgate trust import` writes to and `serve` loads from. */
    readonly bundlesDir?: string | undefined;
  };
  readonly timeouts: {
    readonly connectMs: number;
    readonly headersMs: number;
    readonly bodyIdleMs: number;
    readonly notaryTotalMs: number;
  };
  readonly limits: {
    readonly manifestMaxBytes: number;
    readonly memoryCacheMaxBytes: number;
  };
  readonly log: { readonly level: string };
  /** Client authentication; absent: anyone who reaches trustgate may pull. */
  readonly auth?: ClientAuthConfig | undefined;
  /** TLS for the listener; absent: plain HTTP. */
  readonly tls?: { readonly certPath: string; readonly keyPath: string } | undefined;
}

export interface ClientAuthConfig {
  readonly realm: string;
  /** An htpasswd file with bcrypt entries (htpasswd -B). */
  readonly htpasswdPath?: string | undefined;
  /** SHA-256 (hex) of each accepted bearer token: the tokens themselves never appear in the file. */
  readonly tokenSha256: readonly string[];
}

export const DOCKER_ROLES_DEFAULT = ['targets/releases', 'targets'] as const;
const MAX_STALENESS_MS = 365 * 86_400_000;

/**
 * The configuration `trustgate serve` runs with when given no file. Docker Hub's Notary service shut
 * down on 2026-12-08 and Docker Hub has no signing identity every image shares, so there is nothing a
 * default could verify against: without a configuration trustgate proxies Docker Hub and refuses every
 * manifest (POLICY_DENIED) until a policy names what to verify, and with which keys or identities.
 */
export const EMBEDDED_DEFAULTS = {
  listen: '0.0.0.0:5000',
  upstreams: [{ name: 'docker.io', registry: 'https://registry-1.docker.io', default: true }],
  policy: [{ match: '*', action: 'deny' }],
};

/** A configuration file without `policy`: verify every repository (with Notary, the default trust). */
const DEFAULT_POLICY = [{ match: '*', action: 'verify' }];

type Env = Record<string, string | undefined>;

export async function loadConfig(path: string | undefined, env: Env = process.env): Promise<Config> {
  if (!path) return parseConfig(EMBEDDED_DEFAULTS, { env, baseDir: process.cwd() });
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new ConfigError(`cannot read config file ${path}`, { cause });
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (cause) {
    throw new ConfigError(`${path} is not valid YAML: ${(cause as Error).message}`, { cause });
  }
  return parseConfig(doc ?? {}, { env, baseDir: dirname(resolve(path)) });
}

interface Ctx {
  readonly env: Env;
  readonly baseDir: string;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bad(key: string, why: string): never {
  throw new ConfigError(`config ${key}: ${why}`);
}

function str(o: Obj, key: string, path: string, fallback?: string): string {
  const v = o[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    bad(`${path}.${key}`, 'is required');
  }
  if (typeof v !== 'string' || v.length === 0) bad(`${path}.${key}`, 'must be a non-empty string');
  return v;
}

function optStr(o: Obj, key: string, path: string): string | undefined {
  return o[key] === undefined || o[key] === null ? undefined : str(o, key, path);
}

function bool(o: Obj, key: string, path: string, fallback: boolean): boolean {
  const v = o[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') bad(`${path}.${key}`, 'must be true or false');
  return v;
}

function strList(o: Obj, key: string, path: string, fallback: readonly string[]): string[] {
  const v = o[key];
  if (v === undefined || v === null) return [...fallback];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) bad(`${path}.${key}`, 'must be a list of strings');
  return v as string[];
}

/** `10s`, `500ms`, `2m`, `1h`, or a number of milliseconds. */
export function parseDuration(v: unknown, key: string): number {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v;
  const m = typeof v === 'string' ? /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(v.trim()) : null;
  if (!m) bad(key, `${JSON.stringify(v)} is not a duration (e.g. 10s, 500ms, 5m)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Math.round(Number(m[1]) * unit);
}

/** `4MiB`, `512KiB`, `1GiB`, or a number of bytes. */
export function parseSize(v: unknown, key: string): number {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v > 0) return v;
  const m = typeof v === 'string' ? /^(\d+)(B|KiB|MiB|GiB)$/.exec(v.trim()) : null;
  if (!m) bad(key, `${JSON.stringify(v)} is not a size (e.g. 4MiB)`);
  return Number(m[1]) * { B: 1, KiB: 1024, MiB: 1 << 20, GiB: 1 << 30 }[m[2] as 'B' | 'KiB' | 'MiB' | 'GiB'];
}

function parseListen(v: unknown): { host: string; port: number } {
  const s = typeof v === 'string' ? v : typeof v === 'number' ? `0.0.0.0:${v}` : undefined;
  const m = s ? /^(?:\[([0-9a-fA-F:]+)\]|([^:]*)):(\d{1,5})$/.exec(s) : null;
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) bad('listen', `${JSON.stringify(v)} must be host:port`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

async function readPem(path: string, key: string, ctx: Ctx): Promise<string> {
  try {
    return await readFile(resolve(ctx.baseDir, path), 'utf8');
  } catch (cause) {
    throw new ConfigError(`config ${key}: cannot read ${path}`, { cause });
  }
}

/** Credentials named by environment variables (`usernameEnv`, `passwordEnv`): never in the file. */
function credentialsFrom(o: Obj, path: string, ctx: Ctx, prefix = ''): Credentials | undefined {
  const userEnv = optStr(o, `${prefix}usernameEnv`, path);
  const passEnv = optStr(o, `${prefix}passwordEnv`, path);
  if (o[`${prefix}password`] !== undefined) bad(`${path}.${prefix}password`, 'passwords are read from the environment: use passwordEnv');
  if (!userEnv && !passEnv) return undefined;
  if (!userEnv || !passEnv) bad(path, `${prefix}usernameEnv and ${prefix}passwordEnv go together`);
  const username = ctx.env[userEnv];
  const password = ctx.env[passEnv];
  if (username === undefined || password === undefined) bad(path, `environment variables ${userEnv} and ${passEnv} must be set`);
  return { username, password };
}

function httpUrl(v: string, key: string): string {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    bad(key, `${JSON.stringify(v)} is not a URL`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') bad(key, 'must be an http(s) URL');
  return v.replace(/\/+$/, '');
}

async function parseUpstream(v: unknown, i: number, ctx: Ctx): Promise<UpstreamConfig> {
  const path = `upstreams[${i}]`;
  if (!isObj(v)) bad(path, 'must be a mapping');
  const name = str(v, 'name', path);
  if (!/^[a-z0-9.-]+(:\d{1,5})?$/.test(name)) bad(`${path}.name`, `${JSON.stringify(name)} must be a registry host name (lower case, optional :port)`);
  const blobs = str(v, 'blobs', path, 'stream');
  if (blobs !== 'stream' && blobs !== 'redirect') bad(`${path}.blobs`, 'must be stream or redirect');
  const ca = optStr(v, 'ca', path);
  const notary = optStr(v, 'notary', path);
  const offline = v.offline === undefined || v.offline === null ? {} : v.offline;
  if (!isObj(offline)) bad(`${path}.offline`, 'must be a mapping');
  let maxStalenessMs = 0;
  if (offline.maxStaleness !== undefined) {
    if (notary !== 'offline') bad(`${path}.offline.maxStaleness`, 'a grace for expired trust data is only for upstreams with notary: offline');
    maxStalenessMs = parseDuration(offline.maxStaleness, `${path}.offline.maxStaleness`);
    if (maxStalenessMs > MAX_STALENESS_MS) bad(`${path}.offline.maxStaleness`, 'is bounded: at most 365d');
  }
  onlyKnown(offline, `${path}.offline`, ['maxStaleness']);
  const credentials = credentialsFrom(v, path, ctx);
  const notaryAuth = isObj(v.notaryAuth) ? credentialsFrom(v.notaryAuth, `${path}.notaryAuth`, ctx) : undefined;
  if (isObj(v.notaryAuth)) onlyKnown(v.notaryAuth, `${path}.notaryAuth`, ['usernameEnv', 'passwordEnv']);
  onlyKnown(v, path, ['name', 'registry', 'notary', 'offline', 'ca', 'default', 'usernameEnv', 'passwordEnv', 'notaryAuth', 'allowedRealms', 'blobs']);
  return {
    name,
    registry: httpUrl(str(v, 'registry', path), `${path}.registry`),
    notary: notary === undefined || notary === 'offline' ? notary : httpUrl(notary, `${path}.notary`),
    maxStalenessMs,
    caPem: ca ? await readPem(ca, `${path}.ca`, ctx) : undefined,
    default: bool(v, 'default', path, false),
    credentials,
    notaryCredentials: notaryAuth ?? credentials,
    allowedRealms: strList(v, 'allowedRealms', path, []),
    blobs,
  };
}

async function parseRule(v: unknown, i: number, ctx: Ctx): Promise<PolicyRule> {
  const path = `policy[${i}]`;
  if (!isObj(v)) bad(path, 'must be a mapping');
  const action = str(v, 'action', path, 'verify');
  if (action !== 'verify' && action !== 'allow' && action !== 'deny') bad(`${path}.action`, 'must be verify, allow or deny');
  const roles = strList(v, 'roles', path, DOCKER_ROLES_DEFAULT);
  for (const r of roles) {
    if (!(DOCKER_ROLES_DEFAULT as readonly string[]).includes(r)) bad(`${path}.roles`, `${r}: Docker trusts only targets/releases and targets`);
  }
  if (roles.length === 0) bad(`${path}.roles`, 'must name at least one role');
  const pin = v.pin === undefined || v.pin === null ? {} : v.pin;
  if (!isObj(pin)) bad(`${path}.pin`, 'must be a mapping');
  const keys = strList(pin, 'keys', `${path}.pin`, []).map((k) => k.toLowerCase());
  for (const k of keys) if (!/^[0-9a-f]{64}$/.test(k)) bad(`${path}.pin.keys`, `${k} is not a key ID (64 hex characters)`);
  const ca = optStr(pin, 'ca', `${path}.pin`);
  onlyKnown(pin, `${path}.pin`, ['keys', 'ca']);
  onlyKnown(v, path, ['match', 'action', 'roles', 'pin', 'trust', 'sigstore']);
  return {
    ...(await parseRuleTrust(v, path, action, ctx.baseDir)),
    match: str(v, 'match', path),
    action,
    roles,
    pinKeys: keys,
    pinCaPem: ca ? await readPem(ca, `${path}.pin.ca`, ctx) : undefined,
  };
}

/** A misspelt key in a security configuration must not be silently ignored. */
function onlyKnown(v: Obj, path: string, known: readonly string[]): void {
  for (const k of Object.keys(v)) {
    if (!known.includes(k)) bad(path === '(root)' ? k : `${path}.${k}`, `unknown key (known: ${known.join(', ')})`);
  }
}

export async function parseConfig(doc: unknown, ctx: Ctx): Promise<Config> {
  if (!isObj(doc)) bad('(root)', 'must be a mapping');
  onlyKnown(doc, '(root)', ['listen', 'redis', 'redisPrefix', 'upstreams', 'policy', 'trust', 'timeouts', 'limits', 'log', 'auth', 'tls']);
  const rawUpstreams = doc.upstreams ?? EMBEDDED_DEFAULTS.upstreams;
  if (!Array.isArray(rawUpstreams) || rawUpstreams.length === 0) bad('upstreams', 'must list at least one upstream');
  const upstreams = await Promise.all(rawUpstreams.map((u, i) => parseUpstream(u, i, ctx)));
  const names = new Set<string>();
  for (const u of upstreams) {
    if (names.has(u.name)) bad('upstreams', `${u.name} is listed twice`);
    names.add(u.name);
  }
  if (upstreams.filter((u) => u.default).length > 1) bad('upstreams', 'at most one upstream can be the default');
  const rawPolicy = doc.policy ?? DEFAULT_POLICY;
  if (!Array.isArray(rawPolicy)) bad('policy', 'must be a list of rules');
  const section = (key: string, known: readonly string[]): Obj => {
    const v = doc[key];
    if (v === undefined || v === null) return {};
    if (!isObj(v)) bad(key, 'must be a mapping');
    onlyKnown(v, key, known);
    return v;
  };
  const trust = section('trust', ['refreshInterval', 'tofu', 'rootMaxBytes', 'bundles']);
  const timeouts = section('timeouts', ['connect', 'headers', 'bodyIdle', 'notary']);
  const limits = section('limits', ['manifestMaxBytes', 'memoryCacheMaxBytes']);
  const log = section('log', ['level']);
  const redis = ctx.env.TRUSTGATE_REDIS_URL ?? optStr(doc, 'redis', '(root)');
  if (redis && !/^rediss?:\/\//.test(redis)) bad('redis', 'must be a redis:// or rediss:// URL');
  const bundles = optStr(trust, 'bundles', 'trust');
  if (bundles && redis) bad('trust.bundles', 'is for the in-process cache: with redis configured, trust data (and imports) live in Redis');
  const offline = upstreams.filter((u) => u.notary === 'offline').map((u) => u.name);
  if (offline.length > 0 && !redis && !bundles) {
    bad('upstreams', `${offline.join(', ')} has notary: offline but there is nowhere to import trust data: configure redis or trust.bundles`);
  }
  const policy = await Promise.all(rawPolicy.map((r, i) => parseRule(r, i, ctx)));
  checkTrustCoverage(upstreams, policy);
  return {
    listen: parseListen(ctx.env.TRUSTGATE_LISTEN ?? doc.listen ?? EMBEDDED_DEFAULTS.listen),
    redis,
    redisPrefix: str(doc, 'redisPrefix', '(root)', 'trustgate:'),
    upstreams,
    policy,
    trust: {
      refreshIntervalMs: parseDuration(trust.refreshInterval ?? '10s', 'trust.refreshInterval'),
      tofu: bool(trust, 'tofu', 'trust', true),
      rootMaxBytes: parseSize(trust.rootMaxBytes ?? '1MiB', 'trust.rootMaxBytes'),
      bundlesDir: bundles ? resolve(ctx.baseDir, bundles) : undefined,
    },
    timeouts: {
      connectMs: parseDuration(timeouts.connect ?? '5s', 'timeouts.connect'),
      headersMs: parseDuration(timeouts.headers ?? '30s', 'timeouts.headers'),
      bodyIdleMs: parseDuration(timeouts.bodyIdle ?? '30s', 'timeouts.bodyIdle'),
      notaryTotalMs: parseDuration(timeouts.notary ?? '30s', 'timeouts.notary'),
    },
    limits: {
      manifestMaxBytes: parseSize(limits.manifestMaxBytes ?? '4MiB', 'limits.manifestMaxBytes'),
      memoryCacheMaxBytes: parseSize(limits.memoryCacheMaxBytes ?? '256MiB', 'limits.memoryCacheMaxBytes'),
    },
    log: { level: str(log, 'level', 'log', ctx.env.TRUSTGATE_LOG_LEVEL ?? 'info') },
    auth: parseClientAuth(doc.auth, ctx),
    tls: parseTls(doc.tls, ctx),
  };
}

function parseClientAuth(v: unknown, ctx: Ctx): ClientAuthConfig | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) bad('auth', 'must be a mapping');
  const htpasswd = optStr(v, 'htpasswd', 'auth');
  const tokenSha256 = strList(v, 'tokenSha256', 'auth', []).map((h) => h.toLowerCase());
  for (const h of tokenSha256) if (!/^[0-9a-f]{64}$/.test(h)) bad('auth.tokenSha256', `${h} is not a SHA-256 in hex`);
  if (!htpasswd && tokenSha256.length === 0) bad('auth', 'needs htpasswd and/or tokenSha256');
  onlyKnown(v, 'auth', ['realm', 'htpasswd', 'tokenSha256']);
  return { realm: str(v, 'realm', 'auth', 'trustgate'), htpasswdPath: htpasswd ? resolve(ctx.baseDir, htpasswd) : undefined, tokenSha256 };
}

function parseTls(v: unknown, ctx: Ctx): Config['tls'] {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) bad('tls', 'must be a mapping');
  onlyKnown(v, 'tls', ['cert', 'key']);
  return { certPath: resolve(ctx.baseDir, str(v, 'cert', 'tls')), keyPath: resolve(ctx.baseDir, str(v, 'key', 'tls')) };
}

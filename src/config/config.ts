// trustgate's configuration: YAML (config/example.yaml documents every key), embedded defaults when no
// file is given, secrets only from the environment. Validation names the exact key that is wrong.

import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../errors.js';
import { bad, bool, isObj, mapping, onlyKnown, optStr, parseDuration, parseListen, parseSize, readPem, str, strList, type Ctx, type Env } from './parse.js';
import { checkTrustCoverage, parseRuleTrust, type SigstorePolicy, type TrustMode } from './sigstore.js';
import { parseRedisConfig, type RedisConfig } from './redis.js';
import { parseUpstreams } from './upstreams.js';

export { parseDuration, parseSize, type Ctx } from './parse.js';

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
  /** The Notary server URL, or 'offline': verify against imported trust data only. */
  /** The Notary server URL, or 'offline' (imported trust data only); undefined: Sigstore only. */
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
  /** Hosts (`host[:port]`) blob redirects may lead to at any address; others must be public. */
  readonly blobRedirectHosts?: readonly string[] | undefined;
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
  readonly redis?: RedisConfig | undefined;
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
  /** /metrics: behind client authentication or not; repositories in labels (the soonest-expiring N, named or hashed). */
  readonly metrics: { readonly auth: boolean; readonly maxRepositories: number; readonly repositoryLabel: 'gun' | 'sha256' };
  /** What the operator should hear at start: the configuration works, but perhaps not as meant. */
  readonly notices?: readonly string[];
}

export interface ClientAuthConfig {
  readonly realm: string;
  /** An htpasswd file with bcrypt entries (htpasswd -B). */
  readonly htpasswdPath?: string | undefined;
  /** SHA-256 (hex) of each accepted bearer token: the tokens themselves never appear in the file. */
  readonly tokenSha256: readonly string[];
}

export const DOCKER_ROLES_DEFAULT = ['targets/releases', 'targets'] as const;

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
  const config = await parseConfig(doc ?? EMBEDDED_DEFAULTS, { env, baseDir: dirname(resolve(path)) });
  if (doc !== null && doc !== undefined) return config;
  const notice = `${path} is empty: running on the embedded defaults (docker.io through registry-1.docker.io, every repository refused until a policy names what to verify)`;
  return { ...config, notices: [notice, ...(config.notices ?? [])] };
}

/** Every top-level key; a section added here gets its own parser below. */
const ROOT_KEYS = ['listen', 'redis', 'redisPrefix', 'upstreams', 'policy', 'trust', 'timeouts', 'limits', 'log', 'auth', 'tls', 'metrics'];

export async function parseConfig(doc: unknown, ctx: Ctx): Promise<Config> {
  if (!isObj(doc)) bad('(root)', 'must be a mapping');
  onlyKnown(doc, '(root)', ROOT_KEYS);
  const { upstreams, notices } = await parseUpstreams(doc.upstreams ?? EMBEDDED_DEFAULTS.upstreams, ctx);
  const rawPolicy = doc.policy ?? DEFAULT_POLICY;
  if (!Array.isArray(rawPolicy)) bad('policy', 'must be a list of rules');
  const redis = await parseRedisConfig(doc.redis, ctx.env, ctx.baseDir);
  const trust = parseTrust(doc.trust, redis, ctx);
  const offline = upstreams.filter((u) => u.notary === 'offline').map((u) => u.name);
  if (offline.length > 0 && !redis && !trust.bundlesDir) {
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
    trust,
    timeouts: parseTimeouts(doc.timeouts),
    limits: parseLimits(doc.limits),
    log: { level: str(mapping(doc.log, 'log', ['level']), 'level', 'log', ctx.env.TRUSTGATE_LOG_LEVEL ?? 'info') },
    auth: parseClientAuth(doc.auth, ctx),
    tls: parseTls(doc.tls, ctx),
    metrics: parseMetrics(doc.metrics, doc.auth !== undefined && doc.auth !== null),
    notices,
  };
}

function parseMetrics(v: unknown, hasAuth: boolean): Config['metrics'] {
  const metrics = mapping(v, 'metrics', ['auth', 'maxRepositories', 'repositoryLabel']);
  const auth = bool(metrics, 'auth', 'metrics', false);
  if (auth && !hasAuth) bad('metrics.auth', 'needs client authentication (auth) configured');
  const repositoryLabel = str(metrics, 'repositoryLabel', 'metrics', 'gun');
  if (repositoryLabel !== 'gun' && repositoryLabel !== 'sha256') bad('metrics.repositoryLabel', 'must be gun or sha256');
  const maxRepositories = metrics.maxRepositories ?? 100;
  if (typeof maxRepositories !== 'number' || !Number.isSafeInteger(maxRepositories) || maxRepositories < 0) bad('metrics.maxRepositories', 'must be a whole number');
  return { auth, maxRepositories, repositoryLabel };
}

function parseTrust(v: unknown, redis: RedisConfig | undefined, ctx: Ctx): Config['trust'] {
  const trust = mapping(v, 'trust', ['refreshInterval', 'tofu', 'rootMaxBytes', 'bundles']);
  const bundles = optStr(trust, 'bundles', 'trust');
  if (bundles && redis) bad('trust.bundles', 'is for the in-process cache: with redis configured, trust data (and imports) live in Redis');
  return {
    refreshIntervalMs: parseDuration(trust.refreshInterval ?? '10s', 'trust.refreshInterval'),
    tofu: bool(trust, 'tofu', 'trust', true),
    rootMaxBytes: parseSize(trust.rootMaxBytes ?? '1MiB', 'trust.rootMaxBytes'),
    bundlesDir: bundles ? resolve(ctx.baseDir, bundles) : undefined,
  };
}

function parseTimeouts(v: unknown): Config['timeouts'] {
  const timeouts = mapping(v, 'timeouts', ['connect', 'headers', 'bodyIdle', 'notary']);
  return {
    connectMs: parseDuration(timeouts.connect ?? '5s', 'timeouts.connect'),
    headersMs: parseDuration(timeouts.headers ?? '30s', 'timeouts.headers'),
    bodyIdleMs: parseDuration(timeouts.bodyIdle ?? '30s', 'timeouts.bodyIdle'),
    notaryTotalMs: parseDuration(timeouts.notary ?? '30s', 'timeouts.notary'),
  };
}

function parseLimits(v: unknown): Config['limits'] {
  const limits = mapping(v, 'limits', ['manifestMaxBytes', 'memoryCacheMaxBytes']);
  return {
    manifestMaxBytes: parseSize(limits.manifestMaxBytes ?? '4MiB', 'limits.manifestMaxBytes'),
    memoryCacheMaxBytes: parseSize(limits.memoryCacheMaxBytes ?? '256MiB', 'limits.memoryCacheMaxBytes'),
  };
}

async function parseRule(v: unknown, i: number, ctx: Ctx): Promise<PolicyRule> {
  const path = `policy[${i}]`;
  if (!isObj(v)) bad(path, 'must be a mapping');
  onlyKnown(v, path, ['match', 'action', 'roles', 'pin', 'trust', 'sigstore']);
  const action = str(v, 'action', path, 'verify');
  if (action !== 'verify' && action !== 'allow' && action !== 'deny') bad(`${path}.action`, 'must be verify, allow or deny');
  const roles = strList(v, 'roles', path, DOCKER_ROLES_DEFAULT);
  for (const r of roles) {
    if (!(DOCKER_ROLES_DEFAULT as readonly string[]).includes(r)) bad(`${path}.roles`, `${r}: Docker trusts only targets/releases and targets`);
  }
  if (roles.length === 0) bad(`${path}.roles`, 'must name at least one role');
  const pin = mapping(v.pin, `${path}.pin`, ['keys', 'ca']);
  const keys = strList(pin, 'keys', `${path}.pin`, []).map((k) => k.toLowerCase());
  for (const k of keys) if (!/^[0-9a-f]{64}$/.test(k)) bad(`${path}.pin.keys`, `${k} is not a key ID (64 hex characters)`);
  const ca = optStr(pin, 'ca', `${path}.pin`);
  return {
    ...(await parseRuleTrust(v, path, action, ctx.baseDir)),
    match: str(v, 'match', path),
    action,
    roles,
    pinKeys: keys,
    pinCaPem: ca ? await readPem(ca, `${path}.pin.ca`, ctx) : undefined,
  };
}

function parseClientAuth(v: unknown, ctx: Ctx): ClientAuthConfig | undefined {
  if (v === undefined || v === null) return undefined;
  const auth = mapping(v, 'auth', ['realm', 'htpasswd', 'tokenSha256']);
  const htpasswd = optStr(auth, 'htpasswd', 'auth');
  const tokenSha256 = strList(auth, 'tokenSha256', 'auth', []).map((h) => h.toLowerCase());
  for (const h of tokenSha256) if (!/^[0-9a-f]{64}$/.test(h)) bad('auth.tokenSha256', `${h} is not a SHA-256 in hex`);
  if (!htpasswd && tokenSha256.length === 0) bad('auth', 'needs htpasswd and/or tokenSha256');
  return { realm: str(auth, 'realm', 'auth', 'trustgate'), htpasswdPath: htpasswd ? resolve(ctx.baseDir, htpasswd) : undefined, tokenSha256 };
}

function parseTls(v: unknown, ctx: Ctx): Config['tls'] {
  if (v === undefined || v === null) return undefined;
  const tls = mapping(v, 'tls', ['cert', 'key']);
  return { certPath: resolve(ctx.baseDir, str(tls, 'cert', 'tls')), keyPath: resolve(ctx.baseDir, str(tls, 'key', 'tls')) };
}

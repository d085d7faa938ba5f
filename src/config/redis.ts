// The `redis` key: where the shared store lives. A URL string (standalone; env TRUSTGATE_REDIS_URL
// overrides it) or a mapping with exactly one of
//   url: redis://host:6379/0 | rediss://…              standalone
//   sentinels: ["host:port", …] + name: <master name>  Sentinel-managed master and replicas
//   cluster: ["host:port", …]                          Redis Cluster (seed nodes)
// and optionally usernameEnv / passwordEnv (secrets only from the environment), sentinelPasswordEnv,
// tls: { ca: FILE } and waitReplicas (replica acknowledgments awaited after a write that trusts a root
// or raises a rollback floor; default 1 with sentinels, else 0).

import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ConfigError, redactUrl } from '../errors.js';
import { bad, isObj, type Env } from './parse.js';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export type RedisTopology =
  | { readonly kind: 'standalone'; readonly url: string }
  | { readonly kind: 'sentinel'; readonly sentinels: readonly HostPort[]; readonly name: string }
  | { readonly kind: 'cluster'; readonly nodes: readonly HostPort[] };

export interface RedisConfig {
  readonly topology: RedisTopology;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  readonly sentinelPassword?: string | undefined;
  /** TLS to every node (and sentinel): on with rediss:// or a `tls` mapping. */
  readonly tls: boolean;
  /** Extra CA certificates (PEM) for the store's TLS. */
  readonly caPem?: string | undefined;
  /** Replica acknowledgments (WAIT) after a write that trusts a root or raises a floor. */
  readonly waitReplicas: number;
  /** Where the store is, for log lines and error details: never credentials. */
  readonly describe: string;
}

type Obj = Record<string, unknown>;

const KNOWN = ['url', 'sentinels', 'name', 'cluster', 'usernameEnv', 'passwordEnv', 'sentinelPasswordEnv', 'tls', 'waitReplicas'];

/** Parse `redis` (or TRUSTGATE_REDIS_URL, which wins); undefined when neither is set. */
export async function parseRedisConfig(v: unknown, env: Env, baseDir: string): Promise<RedisConfig | undefined> {
  const fromEnv = env.TRUSTGATE_REDIS_URL;
  if (fromEnv !== undefined && fromEnv !== '') return standalone(fromEnv, 'TRUSTGATE_REDIS_URL', env);
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return standalone(v, 'redis', env);
  if (!isObj(v)) bad('redis', 'must be a redis:// URL or a mapping (url, sentinels + name, or cluster)');
  for (const k of Object.keys(v)) if (!KNOWN.includes(k)) bad(`redis.${k}`, `unknown key (known: ${KNOWN.join(', ')})`);
  const forms = ['url', 'sentinels', 'cluster'].filter((k) => v[k] !== undefined);
  if (forms.length !== 1) bad('redis', 'needs exactly one of url, sentinels (with name) or cluster');
  const topology = parseTopology(v);
  if (topology.kind !== 'sentinel' && v.name !== undefined) bad('redis.name', 'is the Sentinel master name: only with sentinels');
  const url = topology.kind === 'standalone' ? new URL(topology.url) : undefined;
  const username = secret(v, 'usernameEnv', env);
  const password = secret(v, 'passwordEnv', env);
  if (url && (url.username || url.password) && (username !== undefined || password !== undefined)) {
    bad('redis', 'credentials go either in the URL or in usernameEnv/passwordEnv, not both');
  }
  const tlsDoc = v.tls;
  if (tlsDoc !== undefined && !isObj(tlsDoc)) bad('redis.tls', 'must be a mapping ({ ca: FILE })');
  if (tlsDoc) for (const k of Object.keys(tlsDoc)) if (k !== 'ca') bad(`redis.tls.${k}`, 'unknown key (known: ca)');
  const caPath = tlsDoc?.ca;
  if (caPath !== undefined && (typeof caPath !== 'string' || caPath === '')) bad('redis.tls.ca', 'must be a file path');
  const waitReplicas = v.waitReplicas ?? (topology.kind === 'sentinel' ? 1 : 0);
  if (!Number.isSafeInteger(waitReplicas) || (waitReplicas as number) < 0) bad('redis.waitReplicas', 'must be a whole number ≥ 0');
  return {
    topology,
    username,
    password,
    sentinelPassword: secret(v, 'sentinelPasswordEnv', env),
    tls: url?.protocol === 'rediss:' || tlsDoc !== undefined,
    caPem: typeof caPath === 'string' ? await readCa(resolve(baseDir, caPath)) : undefined,
    waitReplicas: waitReplicas as number,
    describe: describe(topology),
  };
}

function standalone(url: string, key: string, env: Env): RedisConfig {
  const u = redisUrl(url, key);
  const password = env.TRUSTGATE_REDIS_PASSWORD || undefined;
  if (password !== undefined && u.password) bad(key, 'has a password and TRUSTGATE_REDIS_PASSWORD is set too: use one');
  const topology = { kind: 'standalone', url } as const;
  return { topology, password, tls: u.protocol === 'rediss:', waitReplicas: 0, describe: describe(topology) };
}

function redisUrl(v: unknown, key: string): URL {
  if (typeof v !== 'string' || !/^rediss?:\/\//.test(v)) bad(key, 'must be a redis:// or rediss:// URL');
  try {
    return new URL(v);
  } catch {
    bad(key, 'is not a valid URL');
  }
}

function parseTopology(v: Obj): RedisTopology {
  if (v.url !== undefined) {
    redisUrl(v.url, 'redis.url');
    return { kind: 'standalone', url: v.url as string };
  }
  if (v.sentinels !== undefined) {
    if (typeof v.name !== 'string' || v.name === '') bad('redis.name', 'the Sentinel master name is required with sentinels');
    return { kind: 'sentinel', sentinels: hostList(v.sentinels, 'redis.sentinels'), name: v.name };
  }
  return { kind: 'cluster', nodes: hostList(v.cluster, 'redis.cluster') };
}

function hostList(v: unknown, key: string): HostPort[] {
  if (!Array.isArray(v) || v.length === 0) bad(key, 'must list at least one "host:port"');
  return v.map((s: unknown) => {
    const m = typeof s === 'string' ? /^(?:\[([0-9a-fA-F:]+)\]|([^:\s/]+)):(\d{1,5})$/.exec(s) : null;
    const port = m ? Number(m[3]) : NaN;
    if (!m || port < 1 || port > 65535) bad(key, `${JSON.stringify(s)} is not "host:port"`);
    return { host: (m[1] ?? m[2]) as string, port };
  });
}

function secret(v: Obj, key: string, env: Env): string | undefined {
  const name = v[key];
  if (name === undefined) return undefined;
  if (typeof name !== 'string' || name === '') bad(`redis.${key}`, 'must name an environment variable');
  const value = env[name];
  if (value === undefined) bad(`redis.${key}`, `environment variable ${name} is not set`);
  return value;
}

async function readCa(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    throw new ConfigError(`config redis.tls.ca: cannot read ${path}`, { cause });
  }
}

function describe(t: RedisTopology): string {
  const list = (hs: readonly HostPort[]) => hs.map((h) => `${h.host}:${h.port}`).join(',');
  if (t.kind === 'standalone') return redactUrl(t.url).replace(/\/$/, '');
  if (t.kind === 'sentinel') return `redis sentinel master ${t.name} (sentinels ${list(t.sentinels)})`;
  return `redis cluster (${list(t.nodes)})`;
}

// The value parsers every configuration section uses: typed reads of one key with the exact key path
// in the error, durations, sizes, addresses, URLs, files, and the unknown-key check that names the
// closest known key (a misspelt key in a security configuration must never be silently ignored).

import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ConfigError } from '../errors.js';

export type Env = Record<string, string | undefined>;

/** What a section parser needs besides its own values. */
export interface Ctx {
  readonly env: Env;
  /** Relative paths in the file are relative to the file's directory. */
  readonly baseDir: string;
}

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function bad(key: string, why: string): never {
  throw new ConfigError(`config ${key}: ${why}`);
}

export function str(o: Obj, key: string, path: string, fallback?: string): string {
  const v = o[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    bad(`${path}.${key}`, 'is required');
  }
  if (typeof v !== 'string' || v.length === 0) bad(`${path}.${key}`, 'must be a non-empty string');
  return v;
}

export function optStr(o: Obj, key: string, path: string): string | undefined {
  return o[key] === undefined || o[key] === null ? undefined : str(o, key, path);
}

export function bool(o: Obj, key: string, path: string, fallback: boolean): boolean {
  const v = o[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') bad(`${path}.${key}`, 'must be true or false');
  return v;
}

export function strList(o: Obj, key: string, path: string, fallback: readonly string[]): string[] {
  const v = o[key];
  if (v === undefined || v === null) return [...fallback];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) bad(`${path}.${key}`, 'must be a list of strings');
  return v as string[];
}

/** An optional mapping (absent = empty) whose keys must all be known. */
export function mapping(v: unknown, path: string, known: readonly string[]): Obj {
  if (v === undefined || v === null) return {};
  if (!isObj(v)) bad(path, 'must be a mapping');
  onlyKnown(v, path, known);
  return v;
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

/** `host:port`, `[v6]:port`, `:port` (all interfaces) or a bare port number. */
export function parseListen(v: unknown): { host: string; port: number } {
  const s = typeof v === 'string' ? v : typeof v === 'number' ? `0.0.0.0:${v}` : undefined;
  const m = s ? /^(?:\[([0-9a-fA-F:]+)\]|([^:]*)):(\d{1,5})$/.exec(s) : null;
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) bad('listen', `${JSON.stringify(v)} must be host:port`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

export function httpUrl(v: string, key: string): string {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    bad(key, `${JSON.stringify(v)} is not a URL`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') bad(key, 'must be an http(s) URL');
  return v.replace(/\/+$/, '');
}

export async function readPem(path: string, key: string, ctx: Ctx): Promise<string> {
  try {
    return await readFile(resolve(ctx.baseDir, path), 'utf8');
  } catch (cause) {
    throw new ConfigError(`config ${key}: cannot read ${path}`, { cause });
  }
}

/**
 * Refuse keys the section does not know, naming the closest known one: `notray` is reported as a
 * misspelt `notary`, not as a missing `notary`. Callers check this before reading required keys.
 */
export function onlyKnown(v: Obj, path: string, known: readonly string[]): void {
  for (const k of Object.keys(v)) {
    if (known.includes(k)) continue;
    const near = closest(k, known);
    bad(path === '(root)' ? k : `${path}.${k}`, `unknown key${near ? ` (did you mean ${near}?)` : ''} (known: ${known.join(', ')})`);
  }
}

/** The known key within a small edit distance of `key` (case ignored), if exactly one is nearest. */
export function closest(key: string, known: readonly string[]): string | undefined {
  const k = key.toLowerCase();
  const limit = Math.max(1, Math.min(3, Math.floor(k.length / 3)));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of known) {
    const d = editDistance(k, candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) (d[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    const row = d[i] as number[];
    const prev = d[i - 1] as number[];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
      }
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

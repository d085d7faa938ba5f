// What the scale benchmark measures with: pulls through trustgate with the project's own client
// (undici, every answer's digest checked), warm load with wrk over a random mix of tags (a Lua script
// picks each request's repository and tag), Redis INFO (memory, command counts) and trustgate's own
// /metrics and RSS.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { Agent, request } from 'undici';
import { ALL_MANIFEST_TYPES } from '../test/helpers/images.js';
import { runOk } from '../test/helpers/process.js';
import { repositoryName, tagName, TAGS } from './scale-data.js';

const ACCEPT = ALL_MANIFEST_TYPES.join(', ');

export interface PullRun {
  readonly pulls: number;
  readonly seconds: number;
  /** Answers that were not 200 with the expected digest. */
  readonly errors: number;
}

/**
 * Pull `tags` of repositories [first, first + count) through trustgate, `concurrency` at a time,
 * checking each answer's Docker-Content-Digest against `expected(i, k)`.
 */
export async function pullAll(base: string, repos: { first: number; count: number }, tags: readonly number[], concurrency: number, expected: (i: number, k: number) => string): Promise<PullRun> {
  const agent = new Agent({ connections: concurrency, pipelining: 1 });
  const total = repos.count * tags.length;
  let next = 0;
  let errors = 0;
  const worker = async () => {
    for (let n = next++; n < total; n = next++) {
      const i = repos.first + Math.floor(n / tags.length);
      const k = tags[n % tags.length] as number;
      const res = await request(`${base}/v2/${repositoryName(i)}/manifests/${tagName(k)}`, { headers: { accept: ACCEPT }, dispatcher: agent });
      await res.body.dump();
      if (res.statusCode !== 200 || res.headers['docker-content-digest'] !== expected(i, k)) errors++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - t0) / 1000;
  await agent.close();
  return { pulls: total, seconds, errors };
}

export interface WarmRun {
  readonly requests: number;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
}

/** wrk (one thread, 32 connections) over a uniformly random mix of every repository's tags. */
export async function warmMix(dir: string, base: string, repositories: number, seconds: number): Promise<WarmRun> {
  const script = join(dir, `mix-${repositories}.lua`);
  writeFileSync(
    script,
    `math.randomseed(${repositories})
request = function()
  local path = string.format("/v2/scale/r%05d/manifests/t%d", math.random(0, ${repositories - 1}), math.random(0, ${TAGS - 1}))
  return wrk.format("GET", path, { ["Accept"] = "${ACCEPT}" })
end
`,
  );
  const out = await runOk('wrk', ['-t1', '-c32', `-d${seconds}s`, '--latency', '-s', script, base], { timeoutMs: (seconds + 60) * 1000 });
  const ms = (v: string | undefined) => {
    const m = /([\d.]+)(us|ms|s)/.exec(v ?? '');
    return m ? Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1) : NaN;
  };
  const sockErr = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    requests: Number(/(\d+) requests in/.exec(out)?.[1]),
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
    p50: ms(/\s50%\s+(\S+)/.exec(out)?.[1]),
    p99: ms(/\s99%\s+(\S+)/.exec(out)?.[1]),
    errors: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0) + (sockErr ? sockErr.slice(1).reduce((n, x) => n + Number(x), 0) : 0),
  };
}

export interface RedisState {
  readonly usedMemory: number;
  /** Commands served so far, the benchmark's own INFO and DBSIZE left out. */
  readonly commands: number;
  readonly byCommand: ReadonlyMap<string, number>;
  readonly keys: number;
}

export async function redisState(redis: Redis): Promise<RedisState> {
  const stats = await redis.info('commandstats');
  const byCommand = new Map<string, number>();
  for (const m of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) if (m[1] !== 'info' && m[1] !== 'dbsize') byCommand.set(m[1] as string, Number(m[2]));
  const memory = await redis.info('memory');
  const commands = [...byCommand.values()].reduce((a, b) => a + b, 0);
  return { usedMemory: Number(/^used_memory:(\d+)/m.exec(memory)?.[1]), commands, byCommand, keys: await redis.dbsize() };
}

/** Commands per pull between two states, by command, most frequent first: "get 5.0, evalsha 5.0, …". */
export function commandMix(before: RedisState, after: RedisState, pulls: number): string {
  return [...after.byCommand]
    .map(([name, calls]) => [name, (calls - (before.byCommand.get(name) ?? 0)) / pulls] as const)
    .filter(([, n]) => n >= 0.005)
    .sort((a, b) => b[1] - a[1])
    .map(([name, n]) => `${name} ${n.toFixed(n >= 10 ? 0 : 2)}`)
    .join(', ');
}

export interface MetricsView {
  /** Repositories whose verified trust data the process holds (one expiry series each). */
  readonly trustHeld: number;
  /** trustgate_cache_lookups_total{cache="manifest"} by result (hot, hit, miss). */
  readonly manifestLookups: Record<string, number>;
  readonly bytes: number;
}

export async function scrapeMetrics(base: string): Promise<MetricsView> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const manifestLookups: Record<string, number> = {};
  for (const m of text.matchAll(/^trustgate_cache_lookups_total\{cache="manifest",result="(\w+)"\} (\d+)/gm)) manifestLookups[m[1] as string] = Number(m[2]);
  return { trustHeld: text.match(/^trustgate_trust_expiry_seconds\{/gm)?.length ?? 0, manifestLookups, bytes: Buffer.byteLength(text) };
}

/** Resident memory of a process, MiB. */
export function rssMiB(pid: number | undefined): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
}

// Benchmark: how trustgate grows with the number of repositories. With Redis, for 1, 100, 1,000 and
// 10,000 repositories × 10 signed tags (each tag its own manifest), measured on a fresh Redis and a
// fresh `trustgate serve` per point:
//   cold fill    the first pull of each repository (Notary fetches, verification, manifest fetch)
//   tag fill     the other nine tags of each (trust data already verified: manifest fetch only)
//   warm         wrk over a uniformly random mix of every tag, 32 connections
//   replica      a second process on the same Redis pulling each repository once (the first
//                REPLICA_SAMPLE of them): what a restarted replica (or a refresh) costs, trust data
//                re-verified from the shared store
// and with each: Redis commands per pull (INFO commandstats), Redis memory per repository (INFO
// memory), RSS per cached repository, and whether the in-process caches stay within their limits.
//
// Trust data comes from a static Notary API (bench/static-api.mjs) serving files signed beforehand
// with the project's repository simulator (bench/scale-data.ts), not from notary-server: signing
// 10,000 repositories with the notary CLI takes hours, and the cold-fill rate should be trustgate's,
// not notary-server's. Needs redis-server and wrk (scripts/install-bench.sh). Run: npm run bench:scale
//   BENCH_SCALE_POINTS=1,100  BENCH_SECONDS=3   (short runs while developing)

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startRedis } from '../test/helpers/peers.js';
import { freePort, portOpen, runOk, startDaemon, tempDir, waitFor } from '../test/helpers/process.js';
import { startProcess, type TrustgateSpec } from '../test/helpers/trustgate.js';
import { manifestFor, TAGS, UPSTREAM } from './scale-data.js';
import { commandMix, pullAll, redisState, rssMiB, scrapeMetrics, warmMix, type PullRun, type RedisState, type WarmRun } from './scale-measure.js';
import { scaleReport, withScaleBlock } from './scale-report.js';

const POINTS = (process.env.BENCH_SCALE_POINTS ?? '1,100,1000,10000').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONCURRENCY = 32;
/** The replica fill measures a rate: this many repositories give it, at any point. */
const REPLICA_SAMPLE = 2_000;
const dir = tempDir('bench-scale');
const stops: (() => Promise<void>)[] = [];
const progress = (line: string) => process.stderr.write(`scale: ${line}\n`);
const f = (n: number) => n.toFixed(0);

export interface ScalePoint {
  readonly repositories: number;
  readonly cold: PullRun;
  readonly tagFill: PullRun;
  readonly warm: WarmRun;
  readonly replica: PullRun;
  /** Redis commands per pull in each phase, and which commands. */
  readonly commands: { cold: number; tagFill: number; warm: number; replica: number };
  readonly commandMix: { cold: string; tagFill: string; warm: string; replica: string };
  /** Warm pulls answered from the hot cache (verified answers reused without I/O), as a fraction. */
  readonly hotFraction: number;
  /** Repositories whose trust data the process held after the warm run. */
  readonly trustHeld: number;
  readonly metricsBytes: number;
  readonly rss: { startMiB: number; warmMiB: number };
  readonly redis: { bytesPerRepository: number; keysPerRepository: number };
}

export interface Generation {
  readonly repositories: number;
  readonly seconds: number;
  readonly processes: number;
}

/** Sign `count` repositories in parallel child processes, one shard each. */
async function generate(count: number): Promise<{ shards: string[]; generation: Generation }> {
  const processes = Math.max(1, Math.min(availableParallelism(), count));
  const per = Math.ceil(count / processes);
  const t0 = performance.now();
  const shards = Array.from({ length: processes }, (_, p) => join(dir.path, `shard-${p}`));
  const script = join(import.meta.dirname, 'scale-data.ts');
  // the benchmark itself was type-checked when it started: the children only need transpiling
  const env = { ...process.env, TS_NODE_TRANSPILE_ONLY: '1' };
  await Promise.all(
    shards.map((shard, p) =>
      runOk(process.execPath, ['--import=@tapjs/typescript/import', script, String(p * per), String(Math.max(0, Math.min(per, count - p * per))), shard], { env, timeoutMs: 3_600_000 }),
    ),
  );
  return { shards, generation: { repositories: count, seconds: (performance.now() - t0) / 1000, processes } };
}

async function startStaticApi(shards: string[]): Promise<string> {
  const port = await freePort();
  const d = startDaemon('static-api', process.execPath, [join(import.meta.dirname, 'static-api.mjs'), String(port), ...shards], join(dir.path, 'static-api.log'));
  stops.push(() => d.stop());
  await waitFor('the static Notary and registry API', () => portOpen(port), 120_000, d);
  return `http://127.0.0.1:${port}`;
}

const digests = new Map<string, string>();
function expectedDigest(i: number, k: number): string {
  const key = `${i}:${k}`;
  let d = digests.get(key);
  if (d === undefined) digests.set(key, (d = `sha256:${createHash('sha256').update(manifestFor(i, k)).digest('hex')}`));
  return d;
}

const perPull = (before: RedisState, after: RedisState, pulls: number) => (after.commands - before.commands) / pulls;

/** One point of the curve: a fresh Redis and trustgate, `n` repositories; `warmup` is a repository outside them. */
async function measurePoint(api: string, n: number, warmup: number): Promise<ScalePoint> {
  const redisPeer = await startRedis(dir.path);
  const redis = new Redis(redisPeer.url);
  const spec: TrustgateSpec = {
    upstreams: [{ name: UPSTREAM, registry: api, notary: api, default: true }],
    redis: redisPeer.url,
    // trust data stays fresh through the run: the warm figures are the warm path, not refreshes
    trust: { refreshInterval: '1h' },
  };
  const tg = await startProcess(dir.path, spec, 'scale:');
  try {
    // one pull of a repository outside the measured ones: code compiled, connections open
    const first = await pullAll(tg.url, { first: warmup, count: 1 }, [0], 1, expectedDigest);
    if (first.errors) throw new Error('the warm-up pull failed');
    const startMiB = rssMiB(tg.daemon.child.pid);
    const base = await redisState(redis);
    progress(`${n} repositories: cold fill`);
    const cold = await pullAll(tg.url, { first: 0, count: n }, [0], CONCURRENCY, expectedDigest);
    const afterCold = await redisState(redis);
    progress(`${n} repositories: ${f(cold.pulls / cold.seconds)} repositories/s; tag fill`);
    const tagFill = await pullAll(tg.url, { first: 0, count: n }, range(1, TAGS), CONCURRENCY, expectedDigest);
    const afterFill = await redisState(redis);
    const before = await scrapeMetrics(tg.url);
    progress(`${n} repositories: ${f(tagFill.pulls / tagFill.seconds)} pulls/s; warm mix, ${SECONDS} s`);
    const warm = await warmMix(dir.path, tg.url, n, SECONDS);
    const afterWarm = await redisState(redis);
    const after = await scrapeMetrics(tg.url);
    const warmMiB = rssMiB(tg.daemon.child.pid);
    progress(`${n} repositories: ${f(warm.rps)} req/s; replica fill`);
    const replica = await replicaFill(spec, n, warmup);
    const afterReplica = await redisState(redis);
    const lookups = (r: string) => (after.manifestLookups[r] ?? 0) - (before.manifestLookups[r] ?? 0);
    const served = lookups('hot') + lookups('hit') + lookups('miss');
    return {
      repositories: n,
      cold,
      tagFill,
      warm,
      replica,
      commands: {
        cold: perPull(base, afterCold, cold.pulls),
        tagFill: perPull(afterCold, afterFill, tagFill.pulls),
        warm: perPull(afterFill, afterWarm, warm.requests),
        replica: perPull(afterWarm, afterReplica, replica.pulls),
      },
      commandMix: {
        cold: commandMix(base, afterCold, cold.pulls),
        tagFill: commandMix(afterCold, afterFill, tagFill.pulls),
        warm: commandMix(afterFill, afterWarm, warm.requests),
        replica: commandMix(afterWarm, afterReplica, replica.pulls),
      },
      hotFraction: served ? lookups('hot') / served : NaN,
      trustHeld: after.trustHeld,
      metricsBytes: after.bytes,
      rss: { startMiB, warmMiB },
      redis: { bytesPerRepository: (afterFill.usedMemory - base.usedMemory) / n, keysPerRepository: (afterFill.keys - base.keys) / n },
    };
  } finally {
    await tg.stop();
    redis.disconnect();
    await redisPeer.stop();
  }
}

/** A second trustgate on the same Redis (same key prefix): each repository pulled once. */
async function replicaFill(spec: TrustgateSpec, n: number, warmup: number): Promise<PullRun> {
  const replica = await startProcess(dir.path, spec, 'scale:');
  try {
    await pullAll(replica.url, { first: warmup, count: 1 }, [0], 1, expectedDigest);
    return await pullAll(replica.url, { first: 0, count: Math.min(n, REPLICA_SAMPLE) }, [0], CONCURRENCY, expectedDigest);
  } finally {
    await replica.stop();
  }
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);

async function main() {
  const max = Math.max(...POINTS);
  progress(`signing ${max + 1} repositories`);
  const { shards, generation } = await generate(max + 1);
  progress(`signed in ${f(generation.seconds)} s`);
  const api = await startStaticApi(shards);
  const points: ScalePoint[] = [];
  for (const n of POINTS) points.push(await measurePoint(api, n, max));
  const { markdown, readme, svg } = scaleReport(points, generation, { seconds: SECONDS, concurrency: CONCURRENCY });
  console.log(markdown);
  const results = join(import.meta.dirname, 'results');
  mkdirSync(results, { recursive: true });
  writeFileSync(join(results, 'scale.md'), markdown + '\n');
  writeFileSync(join(results, 'scale.svg'), svg);
  // the README's Performance section shows the latest run's tables (its chart is the file above)
  const readmePath = join(import.meta.dirname, '..', 'README.md');
  writeFileSync(readmePath, withScaleBlock(readFileSync(readmePath, 'utf8'), readme));
}

try {
  await main();
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
  dir.remove();
}

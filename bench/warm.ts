// The warm path alone, for profiling and quick comparisons: a warm signed-tag GET through a
// `trustgate serve` process against a bare node:http server sending the same bytes (the floor),
// in alternating short wrk runs (-t1 -c32) so drift on a shared machine hits both alike.
//   BENCH_SECONDS (3)   length of each run        WARM_ROUNDS (5)   runs per server
//   WARM_LOG_LEVEL      trustgate's log level (default info, as `serve` runs without a config)
//   WARM_PROFILE=<dir>  run trustgate under `node --cpu-prof` and write its profile there
//   WARM_REFRESH (1h)   trustgate's trust.refreshInterval (serve's default is 10s)
//   WARM_NODE_ARGS      more Node.js options for trustgate (e.g. "--trace-gc"; its log is kept in
//                       WARM_LOG=<file> when given)
// Run: npm run build && npm run bench:warm

import { join } from 'node:path';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { NODE_FLAGS } from '../src/node-flags.js';
import { ALL_MANIFEST_TYPES, buildLayouts, manifestOf, push } from '../test/helpers/images.js';
import { NotaryCli, startNotaryServer } from '../test/helpers/notary.js';
import { startRegistry } from '../test/helpers/peers.js';
import { freePort, portOpen, runOk, startDaemon, tempDir, waitFor } from '../test/helpers/process.js';
import { CLI, configDoc } from '../test/helpers/trustgate.js';

const SECONDS = process.env.BENCH_SECONDS ?? '3';
const ROUNDS = Number(process.env.WARM_ROUNDS ?? 5);
const LEVEL = process.env.WARM_LOG_LEVEL ?? 'info';
const PROFILE = process.env.WARM_PROFILE;
const NODE_ARGS = (process.env.WARM_NODE_ARGS ?? '').split(' ').filter(Boolean);
const KEEP_LOG = process.env.WARM_LOG;
const REPO = 'library/warm';
const dir = tempDir('warm');
const stops: (() => Promise<void>)[] = [];

interface Run {
  rps: number;
  requests: number;
  p50: number;
  p99: number;
  errors: number;
}

function ms(v: string | undefined): number {
  const m = /([\d.]+)(us|ms|s)/.exec(v ?? '');
  return m ? Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1) : NaN;
}

export async function wrk(url: string, seconds: string): Promise<Run> {
  const out = await runOk('wrk', ['-t1', '-c32', `-d${seconds}s`, '--latency', '-H', `Accept: ${ALL_MANIFEST_TYPES.join(', ')}`, url], { timeoutMs: 120_000 });
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
    requests: Number(/(\d+) requests in/.exec(out)?.[1]),
    p50: ms(/\s50%\s+(\S+)/.exec(out)?.[1]),
    p99: ms(/\s99%\s+(\S+)/.exec(out)?.[1]),
    errors: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0) + (sock ? sock.slice(1).reduce((n, x) => n + Number(x), 0) : 0),
  };
}

/** CPU time (user + system) a process has used, in µs (/proc/<pid>/stat, clock ticks of 10 ms). */
function cpuMicros(pid: number | undefined): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

/** A wrk run, with the server's CPU time per request (robust where wall-clock figures are not). */
async function measure(url: string, pid: number | undefined): Promise<Run & { cpuPerRequest: number }> {
  const before = cpuMicros(pid);
  const r = await wrk(url, SECONDS);
  return { ...r, cpuPerRequest: (cpuMicros(pid) - before) / r.requests };
}

async function main() {
  const registry = await startRegistry(dir.path);
  stops.push(registry.stop);
  await push(buildLayouts(join(dir.path, 'oci')).single, 'v1', `${registry.url.replace('http://', '')}/${REPO}:v1`, { format: 'v2s2' });
  const v1 = await manifestOf(registry.url, REPO, 'v1');
  const notary = await startNotaryServer({ dir: join(dir.path, 'notary') });
  stops.push(notary.stop);
  const cli = new NotaryCli(join(dir.path, 'cli'), notary);
  await cli.init(`docker.io/${REPO}`);
  await cli.sign(`docker.io/${REPO}`, 'v1', v1);

  const port = await freePort();
  const cfg = join(dir.path, 'trustgate.yaml');
  const doc = configDoc({ upstreams: [{ name: 'docker.io', registry: registry.url, notary: notary.url, ca: notary.caPath, default: true }], trust: { refreshInterval: process.env.WARM_REFRESH ?? '1h' } }, port);
  writeFileSync(cfg, stringify({ ...doc, log: { level: LEVEL } }));
  const flags = [...NODE_FLAGS, ...NODE_ARGS, ...(PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE}`] : [])];
  const tg = startDaemon('trustgate', process.execPath, [...flags, CLI, 'serve', '-c', cfg], join(dir.path, 'trustgate.log'));
  stops.push(async () => {
    await tg.stop(30_000);
    if (KEEP_LOG) copyFileSync(join(dir.path, 'trustgate.log'), KEEP_LOG);
  });
  await waitFor('trustgate', () => portOpen(port), 20_000, tg);
  const url = `http://127.0.0.1:${port}/v2/${REPO}/manifests/v1`;
  const warm = await fetch(url, { headers: { accept: ALL_MANIFEST_TYPES.join(',') } });
  if (warm.headers.get('docker-content-digest') !== v1.digest) throw new Error('trustgate did not serve the signed manifest');

  const staticPort = await freePort();
  const file = join(dir.path, 'manifest.json');
  writeFileSync(file, v1.body);
  const bare = startDaemon('node-static', process.execPath, [join(import.meta.dirname, 'node-static.mjs'), String(staticPort), file, v1.mediaType, v1.digest], join(dir.path, 'static.log'));
  stops.push(() => bare.stop());
  await waitFor('node static', () => portOpen(staticPort));
  const floorUrl = `http://127.0.0.1:${staticPort}/v2/${REPO}/manifests/v1`;

  await wrk(url, '2'); // JIT warm-up of both
  await wrk(floorUrl, '2');
  const rps: number[] = [];
  const p99: number[] = [];
  const cpu: [number[], number[]] = [[], []];
  for (let i = 0; i < ROUNDS; i++) {
    const f = await measure(floorUrl, bare.child.pid);
    const t = await measure(url, tg.child.pid);
    rps.push(t.rps / f.rps);
    p99.push(t.p99 / f.p99);
    cpu[0].push(t.cpuPerRequest);
    cpu[1].push(f.cpuPerRequest);
    console.log(
      `round ${i + 1}: trustgate ${t.rps.toFixed(0)} req/s p99 ${t.p99.toFixed(2)} ms ${t.cpuPerRequest.toFixed(0)} µs CPU/req (errors ${t.errors}); ` +
        `floor ${f.rps.toFixed(0)} req/s p99 ${f.p99.toFixed(2)} ms ${f.cpuPerRequest.toFixed(0)} µs CPU/req → ${(t.rps / f.rps).toFixed(2)}× req/s, ${(t.p99 / f.p99).toFixed(2)}× p99`,
    );
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  console.log(
    `median (log level ${LEVEL}): ${median(rps).toFixed(2)}× the floor's req/s, ${median(p99).toFixed(2)}× its p99; ` +
      `CPU per request ${median(cpu[0]).toFixed(0)} µs vs the floor's ${median(cpu[1]).toFixed(0)} µs`,
  );
}

try {
  await main();
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
  dir.remove();
}

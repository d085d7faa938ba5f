// Benchmark: trustgate against the same registry three ways in one run, so every figure has a
// baseline from the same machine at the same moment:
//   manifests  GET and HEAD by signed tag (warm), 32 connections: direct, nginx, trustgate
//   blobs      a 256 MiB blob: direct, nginx, trustgate streaming, trustgate redirect mode, and
//              through the front-proxy recipe (deploy/nginx/trustgate-front.conf)
//   cold       first pull through a fresh trustgate (empty caches) vs `notary lookup` with an
//              empty trust dir (the Go notary client)
// Needs: docker-registry, notary, nginx, wrk, curl (scripts/install-bench.sh). Run: npm run bench:proxy

import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NODE_FLAGS } from '../src/node-flags.js';
import { NAME_COMPONENT, startFront } from '../test/helpers/front.js';
import { buildLayouts, manifestOf, push, ALL_MANIFEST_TYPES } from '../test/helpers/images.js';
import { NotaryCli, startNotaryServer } from '../test/helpers/notary.js';
import { startRegistry } from '../test/helpers/peers.js';
import { freePort, portOpen, run, startDaemon, tempDir, waitFor } from '../test/helpers/process.js';
import { startProcess, type TrustgateSpec } from '../test/helpers/trustgate.js';
import { ab, curlDownload, ownDownload, rssMiB, startNginx, uploadBlob, wrk, type WrkResult } from './proxy-clients.js';

const DURATION = process.env.BENCH_SECONDS ?? '10';
const BLOB_MIB = Number(process.env.BENCH_BLOB_MIB ?? 256);
const REPO = 'library/bench';
const GUN = `docker.io/${REPO}`;
const dir = tempDir('bench');
const stops: (() => Promise<void>)[] = [];

/**
 * Blob rounds: `WARMUP` unmeasured, then `ROUNDS` measured. A Node.js process reaches its steady blob
 * throughput only after a GiB or so (JIT tiering of the stream and HTTP parser code), so every path
 * gets the same warm-up; a long-running proxy is warm.
 */
const WARMUP = Number(process.env.BENCH_WARMUP ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 11);
/** Paired downloads, direct and through a redirect, per client (see the redirect target). */
const PAIRS = Number(process.env.BENCH_PAIRS ?? 31);
/** Warm GET rounds, trustgate and the floor alternating, and the seconds of each run. */
const WARM_ROUNDS = Number(process.env.BENCH_WARM_ROUNDS ?? 7);
const WARM_SECONDS = process.env.BENCH_WARM_SECONDS ?? '5';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main() {
  const registry = await startRegistry(dir.path);
  stops.push(registry.stop);
  const host = registry.url.replace('http://', '');
  const layouts = buildLayouts(join(dir.path, 'oci'));
  await push(layouts.single, 'v1', `${host}/${REPO}:v1`, { format: 'v2s2' });
  const v1 = await manifestOf(registry.url, REPO, 'v1');
  const blob = await uploadBlob(registry.url, REPO, randomBytes(BLOB_MIB << 20));

  const notary = await startNotaryServer({ dir: join(dir.path, 'notary') });
  stops.push(notary.stop);
  const cli = new NotaryCli(join(dir.path, 'cli'), notary);
  const COLD = 5;
  for (const gun of [GUN, ...Array.from({ length: COLD }, (_, i) => `${GUN}-cold${i}`)]) {
    await cli.init(gun);
    await cli.sign(gun, 'v1', v1);
    if (gun !== GUN) await push(layouts.single, 'v1', `${host}/${gun.slice('docker.io/'.length)}:v1`, { format: 'v2s2' });
  }

  const spec = (blobs: 'stream' | 'redirect'): TrustgateSpec => ({
    upstreams: [{ name: 'docker.io', registry: registry.url, notary: notary.url, ca: notary.caPath, default: true, blobs }],
  });
  const tg = await startProcess(dir.path, spec('stream'));
  stops.push(tg.stop);
  const tgRedirect = await startProcess(dir.path, spec('redirect'));
  stops.push(tgRedirect.stop);
  const nginx = await startNginx(registry.port, join(dir.path, 'nginx'), stops);

  const manifest = (base: string) => `${base}/v2/${REPO}/manifests/v1`;
  const warm = await fetch(manifest(tg.url), { headers: { accept: ALL_MANIFEST_TYPES.join(',') } });
  if (warm.headers.get('docker-content-digest') !== v1.digest) throw new Error('trustgate did not serve the signed manifest');

  // the floor: a bare node:http server sending the same bytes and headers from memory
  const staticPort = await freePort();
  const manifestFile = join(dir.path, 'manifest.json');
  writeFileSync(manifestFile, v1.body);
  const bare = startDaemon('node-static', process.execPath, [join(import.meta.dirname, 'node-static.mjs'), String(staticPort), manifestFile, v1.mediaType, v1.digest], join(dir.path, 'node-static.log'));
  stops.push(() => bare.stop());
  await waitFor('node static', () => portOpen(staticPort));

  const rows: [string, WrkResult, WrkResult][] = [];
  for (const [label, base] of [
    ['registry direct', registry.url],
    ['nginx → registry', nginx],
  ] as const) {
    // unmeasured first: a server's first seconds under load are JIT warm-up (its p99 then measures
    // the compiler, not the server); every row gets the same
    await wrk(manifest(base), '3');
    rows.push([label, await wrk(manifest(base), DURATION), await ab(manifest(base), DURATION)]);
  }
  // a bare fastify server with the same bytes: what the leanest fastify app costs on this path
  // (trustgate answers warm pulls in front of fastify's listener, so not its ceiling)
  const fastifyPort = await freePort();
  const bareFastify = startDaemon('fastify-static', process.execPath, [...NODE_FLAGS, join(import.meta.dirname, 'fastify-static.mjs'), String(fastifyPort), manifestFile, v1.mediaType, v1.digest], join(dir.path, 'fastify-static.log'));
  stops.push(() => bareFastify.stop());
  await waitFor('fastify static', () => portOpen(fastifyPort));

  // trustgate, the floor and bare fastify: WARM_ROUNDS rounds of one WARM_SECONDS GET run each, in
  // an order that rotates from round to round, so drift in a shared machine's speed hits all alike;
  // each figure is the median of its rounds (single runs put trustgate anywhere in 0.55–0.9× the
  // floor's req/s and 1.3–3.3× its p99 from one run to the next on this machine)
  const trio = [
    ['trustgate → registry (warm, verified)', tg.url],
    ['bare node:http server, same bytes from memory (floor)', `http://127.0.0.1:${staticPort}`],
    ['bare fastify server, same bytes from memory (no plugins, no logger)', `http://127.0.0.1:${fastifyPort}`],
  ] as const;
  for (const [, base] of trio) await wrk(manifest(base), '3');
  const rounds: WrkResult[][] = [];
  for (let i = 0; i < WARM_ROUNDS; i++) {
    const got: WrkResult[] = [];
    for (let j = 0; j < trio.length; j++) {
      const k = (i + j) % trio.length;
      got[k] = await wrk(manifest(trio[k]?.[1] as string), WARM_SECONDS);
    }
    rounds.push(got);
  }
  const medianRun = (k: number): WrkResult => {
    const runs = rounds.map((r) => r[k] as WrkResult);
    return { rps: median(runs.map((r) => r.rps)), p50: median(runs.map((r) => r.p50)), p99: median(runs.map((r) => r.p99)), errors: runs.reduce((n, r) => n + r.errors, 0) };
  };
  for (const [k, [label, base]] of trio.entries()) rows.push([label, medianRun(k), await ab(manifest(base), DURATION)]);

  // the blob runs are interleaved (one download of each, round after round) so drift in a shared
  // machine's speed hits every row alike; a bare Node.js pipe shows what Node itself allows here,
  // with the V8 flags trustgate runs with
  const pipePort = await freePort();
  const pipe = startDaemon('node-pipe', process.execPath, [...NODE_FLAGS, join(import.meta.dirname, 'node-pipe.mjs'), String(pipePort), registry.url], join(dir.path, 'node-pipe.log'));
  stops.push(() => pipe.stop());
  await waitFor('node pipe', () => portOpen(pipePort));
  const tgFresh = await startProcess(dir.path, spec('stream'));
  stops.push(tgFresh.stop);
  // the shipped recipe, in front of the trustgate that served the manifest load
  const front = await startFront(join(dir.path, 'front'), { trustgate: `127.0.0.1:${tg.port}`, registry: registry.url, upstreamName: 'docker.io', directRepositories: `library/${NAME_COMPONENT}` });
  stops.push(front.stop);
  const blobUrl = (base: string) => `${base}/v2/${REPO}/blobs/${blob}`;
  const blobTargets: [string, string][] = [
    ['registry direct', blobUrl(registry.url)],
    ['nginx → registry', blobUrl(nginx)],
    ['bare Node.js pipe (node:http) → registry', blobUrl(`http://127.0.0.1:${pipePort}`)],
    ['trustgate stream', blobUrl(tg.url)],
    ['trustgate redirect', blobUrl(tgRedirect.url)],
    ['trustgate stream (a process that served no manifest load)', blobUrl(tgFresh.url)],
    ['front proxy (deploy/nginx recipe): blobs straight to the registry', blobUrl(front.url)],
  ];
  const rssBefore = rssMiB(tg.daemon.child.pid);
  let rssPeak = rssBefore;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssMiB(tg.daemon.child.pid))), 50);
  // each download with curl and with the benchmark's own client (undici, in this process), one after
  // the other, so both see the same process states
  const speeds = blobTargets.map(() => ({ curl: [] as number[], own: [] as number[] }));
  for (let i = -WARMUP; i < ROUNDS; i++) {
    for (const [k, [, url]] of blobTargets.entries()) {
      const viaCurl = await curlDownload(url, BLOB_MIB << 20);
      const viaOwn = await ownDownload(url, BLOB_MIB << 20);
      if (i >= 0) speeds[k]?.curl.push(viaCurl);
      if (i >= 0) speeds[k]?.own.push(viaOwn);
    }
  }
  clearInterval(sampler);
  const rssAfter = rssMiB(tg.daemon.child.pid);
  const blobs = blobTargets.map(([label], k) => ({ label, curl: median(speeds[k]?.curl ?? []), own: median(speeds[k]?.own ?? []) }));
  const streamedGiB = (2 * (WARMUP + ROUNDS) * BLOB_MIB) / 1024;

  // redirect mode against direct, paired: PAIRS back-to-back downloads of the blob straight from the
  // registry and through a redirect, the order alternating, with each client; the target is judged on
  // the median of the pairs' ratios. Single downloads of the same blob from this registry spread by
  // ±30% (130–280 ms for 256 MiB), so medians of the interleaved rounds above still move by ±10%
  // between runs while the redirect's own cost is one fixed round trip (the 307, 5–8 ms here).
  const pairs = { curl: [] as number[], own: [] as number[] };
  const [directUrl, redirectUrl] = [blobUrl(registry.url), blobUrl(tgRedirect.url)];
  for (let i = 0; i < PAIRS; i++) {
    for (const [client, download] of [['curl', curlDownload], ['own', ownDownload]] as const) {
      const order = i % 2 === 0 ? [directUrl, redirectUrl] : [redirectUrl, directUrl];
      const speed = new Map<string, number>();
      for (const url of order) speed.set(url, await download(url, BLOB_MIB << 20));
      pairs[client].push((speed.get(redirectUrl) as number) / (speed.get(directUrl) as number));
    }
  }
  const pairedCurl = median(pairs.curl);
  const pairedOwn = median(pairs.own);
  const quartiles = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return `${(sorted[Math.floor(sorted.length / 4)] as number).toFixed(2)}–${(sorted[Math.floor((3 * sorted.length) / 4)] as number).toFixed(2)}`;
  };

  // cold: the first pull of a repository trustgate has never seen (running process, empty caches for
  // it), and the same through a freshly started process; `notary lookup` with an empty trust dir
  const coldRepo: number[] = [];
  const coldProcess: number[] = [];
  const coldNotary: number[] = [];
  const acceptHeader = { accept: ALL_MANIFEST_TYPES.join(',') };
  for (let i = 0; i < COLD; i++) {
    const t0 = performance.now();
    const r = await fetch(`${tg.url}/v2/${REPO}-cold${i}/manifests/v1`, { headers: acceptHeader });
    coldRepo.push(performance.now() - t0);
    if (r.status !== 200) throw new Error(`cold pull: HTTP ${r.status}`);
    const fresh = await startProcess(dir.path, spec('stream'));
    const t1 = performance.now();
    const r2 = await fetch(manifest(fresh.url), { headers: acceptHeader });
    coldProcess.push(performance.now() - t1);
    if (r2.status !== 200) throw new Error(`cold pull: HTTP ${r2.status}`);
    await fresh.stop();
    const t2 = performance.now();
    const lookup = await run('notary', ['-s', notary.url, '--tlscacert', notary.caPath, '-d', join(dir.path, `empty-trust-${i}`), 'lookup', GUN, 'v1']);
    coldNotary.push(performance.now() - t2);
    if (lookup.code !== 0) throw new Error(`notary lookup: ${lookup.stderr}`);
  }

  const direct = rows[0] as (typeof rows)[number];
  const tgRow = rows[2] as (typeof rows)[number];
  const floorRow = rows[3] as (typeof rows)[number];
  const fastifyGet = (rows[4] as (typeof rows)[number])[1];
  type Blob = (typeof blobs)[number];
  const [directBlob, nginxBlob, pipeBlob, streamBlob, redirectBlob, , frontBlob] = blobs as [Blob, Blob, Blob, Blob, Blob, Blob, Blob];
  const f = (n: number, d = 0) => n.toFixed(d);
  const target = (what: string, met: boolean, detail: string) => `- ${what}: ${met ? 'met' : 'NOT met'} (${detail})`;
  const x = (a: number, b: number) => `${f(a / b, 2)}×`;
  const [tgGet, floorGet, directGet] = [tgRow[1], floorRow[1], direct[1]];
  const lines = [
    `# trustgate proxy benchmark (${new Date().toISOString()}, node ${process.version}, ${DURATION}s per run, wrk -t1 -c32)`,
    '',
    '| manifest by signed tag | GET req/s (wrk) | GET p50 | GET p99 | HEAD req/s (ab) | HEAD p50 | HEAD p99 | errors | GET × registry direct |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows.map(([label, g, h]) => `| ${label} | ${f(g.rps)} | ${f(g.p50, 2)} ms | ${f(g.p99, 2)} ms | ${f(h.rps)} | ${f(h.p50)} ms | ${f(h.p99)} ms | ${g.errors + h.errors} | ${f(g.rps / directGet.rps, 2)}× |`),
    '',
    `The GET figures of trustgate, the floor and bare fastify are medians of ${WARM_ROUNDS} rounds of ${WARM_SECONDS}s runs, their order rotating (the others one ${DURATION}s run); each round's trustgate ÷ floor: req/s ${rounds.map(([a, b]) => x((a as WrkResult).rps, (b as WrkResult).rps)).join(' ')}, p99 ${rounds.map(([a, b]) => x((a as WrkResult).p99, (b as WrkResult).p99)).join(' ')}; bare fastify ÷ floor (medians): req/s ${x(fastifyGet.rps, floorGet.rps)}, p99 ${x(fastifyGet.p99, floorGet.p99)}.`,
    '',
    `| ${BLOB_MIB} MiB blob GET (median of ${ROUNDS} interleaved rounds) | curl MB/s | × nginx | × bare Node pipe | × direct | own client (undici) MB/s | × bare Node pipe | × direct |`,
    '|---|---|---|---|---|---|---|---|',
    ...blobs.map((b) => `| ${b.label} | ${f(b.curl)} | ${x(b.curl, nginxBlob.curl)} | ${x(b.curl, pipeBlob.curl)} | ${x(b.curl, directBlob.curl)} | ${f(b.own)} | ${x(b.own, pipeBlob.own)} | ${x(b.own, directBlob.own)} |`),
    '',
    `redirect ÷ direct, ${PAIRS} paired downloads per client: curl median ${f(pairedCurl, 2)}× (quartiles ${quartiles(pairs.curl)}), own client median ${f(pairedOwn, 2)}× (quartiles ${quartiles(pairs.own)})`,
    '',
    `trustgate RSS while streaming ${f(streamedGiB, 1)} GiB of blobs: ${f(rssBefore)} MiB before, ${f(rssPeak)} MiB peak, ${f(rssAfter)} MiB after`,
    '',
    '| cold first pull (empty caches) | median of 5 |',
    '|---|---|',
    `| trustgate, a repository it has not seen (Notary fetches + verification + manifest fetch) | ${f(median(coldRepo), 1)} ms |`,
    `| trustgate, first request to a freshly started process | ${f(median(coldProcess), 1)} ms |`,
    `| notary lookup (Go client, empty trust dir, process start included) | ${f(median(coldNotary), 1)} ms |`,
    '',
    'targets:',
    target('warm manifest GET ≥ 10× registry direct', tgGet.rps >= 10 * directGet.rps, x(tgGet.rps, directGet.rps)),
    target('warm manifest GET ≥ 0.6× the bare node:http floor’s req/s', tgGet.rps >= 0.6 * floorGet.rps, `${x(tgGet.rps, floorGet.rps)}: ${f(tgGet.rps)} vs ${f(floorGet.rps)}`),
    target('warm manifest GET p99 ≤ 2× the floor’s p99', tgGet.p99 <= 2 * floorGet.p99, `${x(tgGet.p99, floorGet.p99)}: ${f(tgGet.p99, 2)} vs ${f(floorGet.p99, 2)} ms`),
    target('warm manifest GET p99 ≤ 5 ms', tgGet.p99 <= 5, `${f(tgGet.p99, 2)} ms`),
    target('stream, in the process that served the manifest load, ≥ 0.9× the bare Node pipe (curl)', streamBlob.curl >= 0.9 * pipeBlob.curl, x(streamBlob.curl, pipeBlob.curl)),
    target('the same with the own client', streamBlob.own >= 0.9 * pipeBlob.own, x(streamBlob.own, pipeBlob.own)),
    target('stream ≥ 0.75× nginx (curl)', streamBlob.curl >= 0.75 * nginxBlob.curl, x(streamBlob.curl, nginxBlob.curl)),
    target(`redirect ≥ 0.95× direct (curl, median of ${PAIRS} paired ratios)`, pairedCurl >= 0.95, `${f(pairedCurl, 2)}×; the interleaved rounds' medians: ${x(redirectBlob.curl, directBlob.curl)}`),
    target(`redirect ≥ 0.95× direct (own client, median of ${PAIRS} paired ratios)`, pairedOwn >= 0.95, `${f(pairedOwn, 2)}×; the interleaved rounds' medians: ${x(redirectBlob.own, directBlob.own)}`),
    target('front proxy blob ≥ 0.95× nginx → registry (curl)', frontBlob.curl >= 0.95 * nginxBlob.curl, x(frontBlob.curl, nginxBlob.curl)),
  ];
  console.log(lines.join('\n'));
  mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
  writeFileSync(join(import.meta.dirname, 'results', 'proxy.md'), lines.join('\n') + '\n');
}

try {
  await main();
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
  dir.remove();
}

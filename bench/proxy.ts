// Benchmark: trustgate against the same registry three ways in one run, so every figure has a
// baseline from the same machine at the same moment:
//   manifests  GET and HEAD by signed tag (warm), 32 connections: direct, nginx, trustgate
//   blobs      a 256 MiB blob: direct, nginx, trustgate streaming, trustgate redirect mode, and
//              through the front-proxy recipe (deploy/nginx/trustgate-front.conf)
//   cold       first pull through a fresh trustgate (empty caches) vs `notary lookup` with an
//              empty trust dir (the Go notary client)
// Needs: docker-registry, notary, nginx, wrk, curl (scripts/install-bench.sh). Run: npm run bench:proxy

import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NAME_COMPONENT, startFront } from '../test/helpers/front.js';
import { buildLayouts, manifestOf, push, ALL_MANIFEST_TYPES } from '../test/helpers/images.js';
import { NotaryCli, startNotaryServer } from '../test/helpers/notary.js';
import { startRegistry } from '../test/helpers/peers.js';
import { freePort, portOpen, run, runOk, startDaemon, tempDir, waitFor } from '../test/helpers/process.js';
import { startProcess, type TrustgateSpec } from '../test/helpers/trustgate.js';

const DURATION = process.env.BENCH_SECONDS ?? '10';
const BLOB_MIB = Number(process.env.BENCH_BLOB_MIB ?? 256);
const REPO = 'library/bench';
const GUN = `docker.io/${REPO}`;
const dir = tempDir('bench');
const stops: (() => Promise<void>)[] = [];

interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

function ms(v: string): number {
  const m = /([\d.]+)(us|ms|s)/.exec(v);
  if (!m) return NaN;
  return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
}

const ACCEPT = ALL_MANIFEST_TYPES.join(', ');

/** GET load with wrk (one thread, 32 connections). */
async function wrk(url: string): Promise<WrkResult> {
  const out = await runOk('wrk', ['-t1', '-c32', `-d${DURATION}s`, '--latency', '-H', `Accept: ${ACCEPT}`, url], { timeoutMs: 120_000 });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const p50 = ms(/\s50%\s+(\S+)/.exec(out)?.[1] ?? '');
  const p99 = ms(/\s99%\s+(\S+)/.exec(out)?.[1] ?? '');
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const sockErr = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = non2xx + (sockErr ? sockErr.slice(1).reduce((n, x) => n + Number(x), 0) : 0);
  return { rps, p50, p99, errors };
}

/** HEAD load with ApacheBench (wrk waits for a body after a HEAD with Content-Length). */
async function ab(url: string): Promise<WrkResult> {
  const n = String(Math.max(2000, Number(DURATION) * 4000));
  const out = await runOk('ab', ['-q', '-k', '-i', '-c', '32', '-t', DURATION, '-n', n, '-H', `Accept: ${ACCEPT}`, url], { timeoutMs: 120_000 });
  return {
    rps: Number(/Requests per second:\s+([\d.]+)/.exec(out)?.[1]),
    p50: Number(/\s50%\s+(\d+)/.exec(out)?.[1]),
    p99: Number(/\s99%\s+(\d+)/.exec(out)?.[1]),
    errors: Number(/Failed requests:\s+(\d+)/.exec(out)?.[1] ?? 0) + Number(/Non-2xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0),
  };
}

/**
 * Blob rounds: `WARMUP` unmeasured, then `ROUNDS` measured. A Node.js process reaches its steady blob
 * throughput only after a GiB or so (JIT tiering of the stream and HTTP parser code), so every path
 * gets the same warm-up; a long-running proxy is warm.
 */
const WARMUP = Number(process.env.BENCH_WARMUP ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
/** MB/s downloading `url` once with curl (following redirects). */
async function download(url: string): Promise<number> {
  const out = await runOk('curl', ['-s', '-L', '-o', '/dev/null', '-w', '%{speed_download} %{size_download}', url], { timeoutMs: 300_000 });
  const [speed, size] = out.trim().split(' ').map(Number) as [number, number];
  if (size !== BLOB_MIB << 20) throw new Error(`downloaded ${size} bytes from ${url}`);
  return speed / 1e6;
}

function rssMiB(pid: number | undefined): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
}

async function uploadBlob(registry: string, data: Buffer): Promise<string> {
  const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
  const start = await fetch(`${registry}/v2/${REPO}/blobs/uploads/`, { method: 'POST' });
  const location = new URL(start.headers.get('location') ?? '', registry);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, { method: 'PUT', body: data, headers: { 'content-type': 'application/octet-stream' } });
  if (put.status !== 201) throw new Error(`blob upload: HTTP ${put.status}`);
  return digest;
}

async function startNginx(upstreamPort: number): Promise<string> {
  const port = await freePort();
  const base = join(dir.path, 'nginx');
  mkdirSync(base, { recursive: true });
  const conf = join(base, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes 1;
daemon off;
pid ${base}/nginx.pid;
error_log ${base}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${base}/body; proxy_temp_path ${base}/proxy; fastcgi_temp_path ${base}/fcgi;
  uwsgi_temp_path ${base}/uwsgi; scgi_temp_path ${base}/scgi;
  upstream registry { server 127.0.0.1:${upstreamPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://registry;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_buffering off;
      proxy_buffers 4 256k;
    }
  }
}
`,
  );
  const d = startDaemon('nginx', 'nginx', ['-c', conf, '-p', base], join(base, 'stdout.log'));
  stops.push(() => d.stop());
  await waitFor('nginx', () => portOpen(port), 10_000, d);
  return `http://127.0.0.1:${port}`;
}

async function main() {
  const registry = await startRegistry(dir.path);
  stops.push(registry.stop);
  const host = registry.url.replace('http://', '');
  const layouts = buildLayouts(join(dir.path, 'oci'));
  await push(layouts.single, 'v1', `${host}/${REPO}:v1`, { format: 'v2s2' });
  const v1 = await manifestOf(registry.url, REPO, 'v1');
  const blob = await uploadBlob(registry.url, randomBytes(BLOB_MIB << 20));

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
  const nginx = await startNginx(registry.port);

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
    ['trustgate → registry (warm, verified)', tg.url],
    ['bare node:http server, same bytes from memory (floor)', `http://127.0.0.1:${staticPort}`],
  ] as const) {
    rows.push([label, await wrk(manifest(base)), await ab(manifest(base))]);
  }

  // the blob runs are interleaved (one download of each, round after round) so drift in a shared
  // machine's speed hits every row alike; a bare Node.js pipe shows what Node itself allows here
  const pipePort = await freePort();
  const pipe = startDaemon('node-pipe', process.execPath, ['--max-semi-space-size=32', join(import.meta.dirname, 'node-pipe.mjs'), String(pipePort), registry.url], join(dir.path, 'node-pipe.log'));
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
  const speeds = blobTargets.map(() => [] as number[]);
  for (let i = -WARMUP; i < ROUNDS; i++) {
    for (const [k, [, url]] of blobTargets.entries()) {
      const v = await download(url);
      if (i >= 0) speeds[k]?.push(v);
    }
  }
  clearInterval(sampler);
  const rssAfter = rssMiB(tg.daemon.child.pid);
  const blobs: [string, number][] = blobTargets.map(([label], k) => [label, median(speeds[k] ?? [])]);
  const streamedGiB = ((WARMUP + ROUNDS) * BLOB_MIB) / 1024;

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
  const nginxBlob = blobs[1]?.[1] ?? NaN;
  const directBlob = blobs[0]?.[1] ?? NaN;
  const pipeBlob = blobs[2]?.[1] ?? NaN;
  const streamBlob = blobs[3]?.[1] ?? 0;
  const redirectBlob = blobs[4]?.[1] ?? 0;
  const frontBlob = blobs[6]?.[1] ?? 0;
  const f = (n: number, d = 0) => n.toFixed(d);
  const lines = [
    `# trustgate proxy benchmark (${new Date().toISOString()}, node ${process.version}, ${DURATION}s per run, wrk -t1 -c32)`,
    '',
    '| manifest by signed tag | GET req/s (wrk) | GET p50 | GET p99 | HEAD req/s (ab) | HEAD p50 | HEAD p99 | errors | GET × registry direct |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows.map(([label, g, h]) => `| ${label} | ${f(g.rps)} | ${f(g.p50, 2)} ms | ${f(g.p99, 2)} ms | ${f(h.rps)} | ${f(h.p50)} ms | ${f(h.p99)} ms | ${g.errors + h.errors} | ${f(g.rps / direct[1].rps, 2)}× |`),
    '',
    `| ${BLOB_MIB} MiB blob GET (median of ${ROUNDS} interleaved rounds) | MB/s | × nginx | × bare Node pipe | × direct |`,
    '|---|---|---|---|---|',
    ...blobs.map(([label, v]) => `| ${label} | ${f(v)} | ${f(v / nginxBlob, 2)}× | ${f(v / pipeBlob, 2)}× | ${f(v / directBlob, 2)}× |`),
    '',
    `trustgate RSS while streaming ${f(streamedGiB, 1)} GiB of blobs: ${f(rssBefore)} MiB before, ${f(rssPeak)} MiB peak, ${f(rssAfter)} MiB after`,
    '',
    '| cold first pull (empty caches) | median of 5 |',
    '|---|---|',
    `| trustgate, a repository it has not seen (Notary fetches + verification + manifest fetch) | ${f(median(coldRepo), 1)} ms |`,
    `| trustgate, first request to a freshly started process | ${f(median(coldProcess), 1)} ms |`,
    `| notary lookup (Go client, empty trust dir, process start included) | ${f(median(coldNotary), 1)} ms |`,
    '',
    `targets: warm manifest GET ≥ 10× registry direct: ${tgRow[1].rps >= 10 * direct[1].rps ? 'met' : 'NOT met'} (${f(tgRow[1].rps / direct[1].rps, 1)}×); ` +
      `p99 ≤ 5 ms: ${tgRow[1].p99 <= 5 ? 'met' : 'NOT met'} (${f(tgRow[1].p99, 2)} ms; a bare node:http server: ${f(floorRow[1].p99, 2)} ms, ${f(tgRow[1].rps / floorRow[1].rps, 2)}× its req/s); ` +
      `stream ≥ 75% of nginx: ${streamBlob >= 0.75 * nginxBlob ? 'met' : 'NOT met'} (${f((streamBlob / nginxBlob) * 100)}%; ${f((streamBlob / pipeBlob) * 100)}% of a bare Node.js pipe); ` +
      `redirect ≥ 95% of direct: ${redirectBlob >= 0.95 * directBlob ? 'met' : 'NOT met'} (${f((redirectBlob / directBlob) * 100)}%); ` +
      `front proxy blob ≥ 0.95× nginx → registry: ${frontBlob >= 0.95 * nginxBlob ? 'met' : 'NOT met'} (${f(frontBlob / nginxBlob, 2)}×)`,
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

// Load test (bounded, stops by itself): warm signed-tag manifest pulls and blob streams at the same
// time through one trustgate process, against a real registry and notary-server on loopback.
// Checks: zero errors, zero responses with a digest other than the signed one, memory flat over the
// run (RSS and V8 heap sampled every second). Run: npm run bench:load   (LOAD_SECONDS, default 60)

import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_MANIFEST_TYPES, buildLayouts, manifestOf, push } from '../test/helpers/images.js';
import { NotaryCli, startNotaryServer } from '../test/helpers/notary.js';
import { startRegistry } from '../test/helpers/peers.js';
import { runOk, tempDir } from '../test/helpers/process.js';
import { startProcess } from '../test/helpers/trustgate.js';

const SECONDS = Number(process.env.LOAD_SECONDS ?? 60);
const REPO = 'library/load';
const GUN = `docker.io/${REPO}`;
const dir = tempDir('load');
const stops: (() => Promise<void>)[] = [];

function rssMiB(pid: number | undefined): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
}

/** wrk with a Lua script counting non-200 answers and answers whose digest is not `expect`. */
function wrkScript(expect: string | undefined): string {
  const path = join(dir.path, `check-${expect ? 'digest' : 'status'}.lua`);
  writeFileSync(
    path,
    `wrk.headers["Accept"] = "${ALL_MANIFEST_TYPES.join(', ')}"
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) bad = 0; wrong = 0 end
function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
  ${expect ? `if headers["docker-content-digest"] ~= "${expect}" and headers["Docker-Content-Digest"] ~= "${expect}" then wrong = wrong + 1 end` : ''}
end
function done(summary, latency, requests)
  local b, w = 0, 0
  for _, t in ipairs(threads) do b = b + t:get("bad"); w = w + t:get("wrong") end
  io.write(string.format("CHECK non200=%d wrongdigest=%d\\n", b, w))
end
`,
  );
  return path;
}

async function main() {
  const registry = await startRegistry(dir.path);
  stops.push(registry.stop);
  const host = registry.url.replace('http://', '');
  await push(buildLayouts(join(dir.path, 'oci')).single, 'v1', `${host}/${REPO}:v1`, { format: 'v2s2' });
  const v1 = await manifestOf(registry.url, REPO, 'v1');
  const blob = randomBytes(1 << 20);
  const blobDigest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
  const up = await fetch(`${registry.url}/v2/${REPO}/blobs/uploads/`, { method: 'POST' });
  const loc = new URL(up.headers.get('location') ?? '', registry.url);
  loc.searchParams.set('digest', blobDigest);
  await fetch(loc, { method: 'PUT', body: blob });
  const notary = await startNotaryServer({ dir: join(dir.path, 'notary') });
  stops.push(notary.stop);
  const cli = new NotaryCli(join(dir.path, 'cli'), notary);
  await cli.init(GUN);
  await cli.sign(GUN, 'v1', v1);
  const tg = await startProcess(dir.path, { upstreams: [{ name: 'docker.io', registry: registry.url, notary: notary.url, ca: notary.caPath, default: true }] });
  stops.push(tg.stop);
  const pid = tg.daemon.child.pid;
  await fetch(`${tg.url}/v2/${REPO}/manifests/v1`, { headers: { accept: ALL_MANIFEST_TYPES.join(',') } });

  // RSS from /proc and the V8 heap in use from trustgate's own /metrics, every second
  const samples: number[] = [rssMiB(pid)];
  const heap: number[] = [];
  const sampler = setInterval(() => {
    samples.push(rssMiB(pid));
    void fetch(`${tg.url}/metrics`)
      .then((r) => r.text())
      .then((text) => {
        const used = Number(/^trustgate_nodejs_heap_size_used_bytes (\S+)/m.exec(text)?.[1]);
        if (Number.isFinite(used)) heap.push(used / 1048576);
      })
      .catch(() => undefined);
  }, 1000);
  const [manifests, blobs] = await Promise.all([
    runOk('wrk', ['-t1', '-c16', `-d${SECONDS}s`, '-s', wrkScript(v1.digest), `${tg.url}/v2/${REPO}/manifests/v1`], { timeoutMs: (SECONDS + 60) * 1000 }),
    runOk('wrk', ['-t1', '-c4', `-d${SECONDS}s`, '-s', wrkScript(undefined), `${tg.url}/v2/${REPO}/blobs/${blobDigest}`], { timeoutMs: (SECONDS + 60) * 1000 }),
  ]);
  clearInterval(sampler);
  samples.push(rssMiB(pid));

  const num = (re: RegExp, s: string) => Number(re.exec(s)?.[1] ?? NaN);
  const report = (label: string, out: string) => ({
    label,
    requests: num(/(\d+) requests in/, out),
    rps: num(/Requests\/sec:\s+([\d.]+)/, out),
    transfer: /Transfer\/sec:\s+(\S+)/.exec(out)?.[1] ?? '?',
    non200: num(/non200=(\d+)/, out),
    wrong: num(/wrongdigest=(\d+)/, out),
    socketErrors: (/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out) ?? []).slice(1).reduce((n, x) => n + Number(x), 0),
  });
  const rows = [report('signed-tag manifest GET (16 connections)', manifests), report('1 MiB blob GET (4 connections)', blobs)];
  // the first third warms up (V8 grows its young generation and tiers up code); memory is flat when
  // the last third is no higher than the middle one: RSS means, and the heap's floors (its level just
  // after collections, where a leak shows first)
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const thirds = <T>(xs: T[]) => [xs.slice(0, Math.floor(xs.length / 3)), xs.slice(Math.floor(xs.length / 3), Math.floor((2 * xs.length) / 3)), xs.slice(Math.floor((2 * xs.length) / 3))] as const;
  const [, rssMid, rssLast] = thirds(samples);
  const [, heapMid, heapLast] = thirds(heap);
  const firstHalf = avg(rssMid);
  const secondHalf = avg(rssLast);
  const heapFloorMid = Math.min(...heapMid);
  const heapFloorLast = Math.min(...heapLast);
  const timeline = samples.filter((_, i) => i % Math.max(1, Math.floor(samples.length / 12)) === 0).map((x) => x.toFixed(0));
  const f = (n: number, d = 0) => n.toFixed(d);
  const errors = rows.reduce((n, r) => n + r.non200 + r.socketErrors, 0);
  const wrong = rows.reduce((n, r) => n + (Number.isNaN(r.wrong) ? 0 : r.wrong), 0);
  const lines = [
    `# trustgate load test (${new Date().toISOString()}, node ${process.version}, ${SECONDS} s, both loads at once)`,
    '',
    '| load | requests | req/s | transfer/s | non-200 | socket errors | wrong digest |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.label} | ${r.requests} | ${f(r.rps)} | ${r.transfer} | ${r.non200} | ${r.socketErrors} | ${Number.isNaN(r.wrong) ? 'n/a' : r.wrong} |`),
    '',
    `RSS (MiB) over the run: ${timeline.join(' → ')}; mean of the middle third ${f(firstHalf)}, of the last third ${f(secondHalf)} ` +
      `(${f(((secondHalf - firstHalf) / firstHalf) * 100, 1)}%)`,
    `V8 heap in use (MiB): floor of the middle third ${f(heapFloorMid, 1)}, of the last third ${f(heapFloorLast, 1)} (${f(((heapFloorLast - heapFloorMid) / heapFloorMid) * 100, 1)}%)`,
    '',
    `result: ${errors === 0 ? 'no errors' : `${errors} ERRORS`}; ${wrong === 0 ? 'no unverified responses' : `${wrong} UNVERIFIED RESPONSES`}; ` +
      `memory ${secondHalf <= firstHalf * 1.05 && heapFloorLast <= heapFloorMid * 1.1 ? 'flat' : 'GROWING'}`,
  ];
  console.log(lines.join('\n'));
  mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
  writeFileSync(join(import.meta.dirname, 'results', 'load.md'), lines.join('\n') + '\n');
  if (errors > 0 || wrong > 0) process.exitCode = 1;
}

try {
  await main();
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
  dir.remove();
}

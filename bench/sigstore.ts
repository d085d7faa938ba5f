// Benchmark: Sigstore beside Notary through the same trustgate process, in one run:
//   warm   GET of a signed tag (verified answers in memory), wrk -t1 -c32: a Notary repository and a
//          Sigstore one (cosign tag layout, P-256 key) — the target: Sigstore within 10% of Notary
//   cold   the first pull of a Sigstore-signed tag through a fresh trustgate process (signature
//          discovery + verification + manifest fetch), against an independent cosign-format verifier
//          on the same image: Debian 13's skopeo with a `sigstoreSigned` policy (process start included;
//          it also copies the image's small blobs)
// Needs: docker-registry, notary, wrk, Debian 13's skopeo (scripts/skopeo-sigstore.sh), a build
// (npm run build). Run: node --import=@tapjs/typescript/import bench/sigstore.ts  (BENCH_SECONDS=5)

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildLayouts, manifestOf, push, ALL_MANIFEST_TYPES } from '../test/helpers/images.js';
import { NotaryCli, startNotaryServer } from '../test/helpers/notary.js';
import { startRegistry } from '../test/helpers/peers.js';
import { runOk, tempDir } from '../test/helpers/process.js';
import { makeCosignKey, signImage, skopeoAccepts } from '../test/helpers/sigstore.js';
import { startProcess, type TrustgateSpec } from '../test/helpers/trustgate.js';

const DURATION = process.env.BENCH_SECONDS ?? '5';
const WARM_ROUNDS = Number(process.env.BENCH_WARM_ROUNDS ?? 5);
const COLD_ROUNDS = Number(process.env.BENCH_COLD_ROUNDS ?? 5);
const dir = tempDir('bench-sigstore');
const stops: (() => Promise<void>)[] = [];

async function wrk(url: string): Promise<{ rps: number; p50: string; p99: string }> {
  const out = await runOk('wrk', ['-t1', '-c32', `-d${DURATION}s`, '--latency', '-H', `Accept: ${ALL_MANIFEST_TYPES.join(', ')}`, url], { timeoutMs: 120_000 });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  return { rps, p50: /50%\s+(\S+)/.exec(out)?.[1] ?? '?', p99: /99%\s+(\S+)/.exec(out)?.[1] ?? '?' };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main() {
  const registry = await startRegistry(dir.path);
  stops.push(registry.stop);
  const host = registry.url.replace('http://', '');
  const layouts = buildLayouts(join(dir.path, 'oci'));
  await push(layouts.single, 'v1', `${host}/library/nt:v1`);
  await push(layouts.single, 'v1', `${host}/library/sg:v1`);
  const notary = await startNotaryServer({ dir: join(dir.path, 'notary') });
  stops.push(notary.stop);
  const cli = new NotaryCli(join(dir.path, 'cli'), notary);
  await cli.init('docker.io/library/nt');
  await cli.sign('docker.io/library/nt', 'v1', await manifestOf(registry.url, 'library/nt', 'v1'));
  const key = await makeCosignKey(join(dir.path, 'keys'), 'cosign');
  const skopeoDir = join(dir.path, 'skopeo');
  await signImage(skopeoDir, host, 'library/sg:v1', key, { identity: 'docker.io/library/sg:v1' });
  const spec: TrustgateSpec = {
    upstreams: [{ name: 'docker.io', registry: registry.url, notary: notary.url, ca: notary.caPath, default: true }],
    policy: [{ match: 'docker.io/library/sg', action: 'verify', trust: 'sigstore', sigstore: { keys: [key.pub] } }, { match: '*', action: 'verify' }],
  };

  const tg = await startProcess(dir.path, spec);
  stops.push(tg.stop);
  for (const repo of ['nt', 'sg']) await fetch(`${tg.url}/v2/library/${repo}/manifests/v1`, { headers: { accept: ALL_MANIFEST_TYPES.join(', ') } });
  // alternating rounds, median of each: both see the same refreshes (every trust.refreshInterval,
  // ahead from its half) and the same machine load
  const runs: Record<'nt' | 'sg', Awaited<ReturnType<typeof wrk>>[]> = { nt: [], sg: [] };
  for (let i = 0; i < WARM_ROUNDS; i++) for (const repo of ['nt', 'sg'] as const) runs[repo].push(await wrk(`${tg.url}/v2/library/${repo}/manifests/v1`));
  const byRps = (xs: Awaited<ReturnType<typeof wrk>>[]) => [...xs].sort((a, b) => a.rps - b.rps)[Math.floor(xs.length / 2)] as Awaited<ReturnType<typeof wrk>>;
  const notaryWarm = byRps(runs.nt);
  const sigstoreWarm = byRps(runs.sg);
  await tg.stop();

  const cold: number[] = [];
  const oracle: number[] = [];
  for (let i = 0; i < COLD_ROUNDS; i++) {
    const fresh = await startProcess(dir.path, spec);
    let t0 = performance.now();
    const r = await fetch(`${fresh.url}/v2/library/sg/manifests/v1`, { headers: { accept: ALL_MANIFEST_TYPES.join(', ') } });
    cold.push(performance.now() - t0);
    if (!r.ok) throw new Error(`cold pull: HTTP ${r.status}`);
    await fresh.stop();
    t0 = performance.now();
    const v = await skopeoAccepts(skopeoDir, host, 'library/sg:v1', { keyPath: key.pub, signedIdentity: { type: 'remapIdentity', prefix: host, signedPrefix: 'docker.io' } });
    oracle.push(performance.now() - t0);
    if (!v.accepted) throw new Error(`skopeo refused: ${v.stderr}`);
  }
  const ratio = sigstoreWarm.rps / notaryWarm.rps;
  const lines = [
    `# Sigstore vs Notary through trustgate (${new Date().toISOString()}, node ${process.version}, wrk -t1 -c32, ${DURATION}s per run, median of ${WARM_ROUNDS} alternating rounds)`,
    '',
    '| warm GET by signed tag | req/s | p50 | p99 |',
    '|---|---|---|---|',
    `| Notary repository | ${notaryWarm.rps.toFixed(0)} | ${notaryWarm.p50} | ${notaryWarm.p99} |`,
    `| Sigstore repository | ${sigstoreWarm.rps.toFixed(0)} | ${sigstoreWarm.p50} | ${sigstoreWarm.p99} |`,
    '',
    `Sigstore ÷ Notary: ${ratio.toFixed(2)} (target ≥ 0.90: ${ratio >= 0.9 ? 'met' : 'NOT met'})`,
    '',
    `| cold first pull of a Sigstore-signed tag (median of ${COLD_ROUNDS}) | ms |`,
    '|---|---|',
    `| trustgate, fresh process (discovery + verification + manifest fetch) | ${median(cold).toFixed(1)} |`,
    `| skopeo sigstoreSigned policy (process start included, small blobs copied) | ${median(oracle).toFixed(1)} |`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  // the record, like the other benchmarks (bench/results/)
  const results = join(import.meta.dirname, 'results');
  mkdirSync(results, { recursive: true });
  writeFileSync(join(results, 'sigstore.md'), lines.join('\n') + '\n');
}

main()
  .catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    dir.remove();
  });

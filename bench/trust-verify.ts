// Benchmark: cold verification of a repository's trust data (root → timestamp → snapshot → targets →
// delegation, every signature and hash, then tag resolution), for a typical repository and for
// 1,000 and 10,000 targets; and ECDSA P-256 verification by node:crypto against @noble/curves.
//
// Figures are reported with baselines measured in the same run (JSON.parse + SHA-256 of the same
// bytes; @noble/curves for ECDSA), since the machines are shared and noisy.
// Run: npm run bench:trust

import { createHash, generateKeyPairSync, sign, verify } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import { MemoryTrustStore } from '../src/cache/trust-store.js';
import { TrustUpdater } from '../src/notary/updater.js';
import { NO_PINNING, resolveSignedTag } from '../src/trust/index.js';
import { clearKeyCaches } from '../src/trust/keys.js';
import { clearVerdicts } from '../src/trust/signatures.js';
import { RepoSimulator } from '../test/helpers/simulator.js';

interface Stats {
  medianMs: number;
  p90Ms: number;
  cpuMs: number;
  perSecond: number;
}

async function measure(fn: () => Promise<unknown> | unknown, minMs = 1500, minRuns = 10): Promise<Stats> {
  for (let i = 0; i < 3; i++) await fn(); // warm up
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  while (times.length < minRuns || performance.now() - t0 < minMs) {
    const s = performance.now();
    await fn();
    times.push(performance.now() - s);
  }
  const cpu = process.cpuUsage(cpu0);
  times.sort((a, b) => a - b);
  const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))] as number;
  return {
    medianMs: q(0.5),
    p90Ms: q(0.9),
    cpuMs: (cpu.user + cpu.system) / 1000 / times.length,
    perSecond: 1000 / q(0.5),
  };
}

function repository(targets: number): RepoSimulator {
  const sim = new RepoSimulator('docker.io/library/bench');
  sim.addDelegation('targets/releases');
  for (let i = 0; i < targets; i++) sim.addTarget('targets', `tag-${i}`, `manifest ${i}`);
  for (let i = 0; i < 10; i++) sim.addTarget('targets/releases', `release-${i}`, `release ${i}`);
  sim.publish();
  return sim;
}

async function benchRepository(label: string, targets: number) {
  const sim = repository(targets);
  const bytes = ['root', 'timestamp', 'snapshot', 'targets', 'targets/releases'].map((r) => sim.files.get(r) as Buffer);
  const total = bytes.reduce((n, b) => n + b.length, 0);
  // one refresh from empty state (every file parsed, hashed, every signature checked), two resolutions
  const verifyOnce = async () => {
    const u = new TrustUpdater({ fetcher: sim, store: new MemoryTrustStore(), pinning: NO_PINNING });
    const { set } = await u.refresh(sim.gun);
    resolveSignedTag(set, 'release-3');
    resolveSignedTag(set, `tag-${targets - 1}`);
  };
  const cold = await measure(async () => {
    clearKeyCaches(); // no certificate or key parsed before
    clearVerdicts(); // and no signature verified before
    await verifyOnce();
  });
  const warm = await measure(verifyOnce); // unchanged trust data again, as on every refresh of a proxy (verdicts remembered)
  const baseline = await measure(() => {
    for (const b of bytes) {
      JSON.parse(b.toString('utf8'));
      createHash('sha256').update(b).digest();
    }
  });
  return { label, targets, kib: Math.round(total / 1024), cold, warm, baseline, ratio: cold.medianMs / baseline.medianMs };
}

async function benchEcdsa() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const msg = Buffer.from(JSON.stringify({ signed: 'x'.repeat(400) }));
  const sig = sign('sha256', msg, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-65);
  const N = 300;
  const node = await measure(() => {
    for (let i = 0; i < N; i++) verify('sha256', msg, { key: publicKey, dsaEncoding: 'ieee-p1363' }, sig);
  });
  const noble = await measure(() => {
    for (let i = 0; i < N; i++) p256.verify(sig, msg, raw, { lowS: false });
  });
  return { nodePerSecond: (N * 1000) / node.medianMs, noblePerSecond: (N * 1000) / noble.medianMs, ratio: noble.medianMs / node.medianMs };
}

const rows = [await benchRepository('typical (4 roles + 1 delegation, 10 targets)', 10), await benchRepository('1,000 targets', 1000), await benchRepository('10,000 targets', 10000)];
const ecdsa = await benchEcdsa();

const fmt = (n: number, d = 2) => n.toFixed(d);
console.log(`# trust verification (node ${process.version}, ${new Date().toISOString()})`);
console.log('| repository | size | cold: median | CPU | verifications/s | warm keys: median | CPU | cold ÷ baseline (JSON.parse + SHA-256 of the same bytes) |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.label} | ${r.kib} KiB | ${fmt(r.cold.medianMs)} ms | ${fmt(r.cold.cpuMs)} ms | ${fmt(r.cold.perSecond, 0)} | ${fmt(r.warm.medianMs)} ms | ${fmt(r.warm.cpuMs)} ms | ${fmt(r.ratio, 1)}× |`,
  );
}
console.log('');
console.log(`ECDSA P-256 verify: node:crypto ${fmt(ecdsa.nodePerSecond, 0)}/s, @noble/curves ${fmt(ecdsa.noblePerSecond, 0)}/s: node:crypto is ${fmt(ecdsa.ratio, 1)}× faster`);
const typical = rows[0] as (typeof rows)[number];
const large = rows[2] as (typeof rows)[number];
console.log('');
console.log(`targets: typical repository < 5 ms CPU cold: ${typical.cold.cpuMs < 5 ? 'met' : 'NOT met'} (${fmt(typical.cold.cpuMs)} ms); 10,000 targets < 100 ms: ${large.cold.cpuMs < 100 ? 'met' : 'NOT met'} (${fmt(large.cold.cpuMs)} ms)`);

// An upstream with `notary: offline`: pulls verify against the store alone, the offline grace is
// bounded, logged and counted, and the Notary read API serves the stored trust data.

import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { pino } from 'pino';
import { MemoryResultCache } from '../../src/cache/results.js';
import { MemoryTrustStore } from '../../src/cache/trust-store.js';
import { parseConfig } from '../../src/config/config.js';
import { buildApp } from '../../src/server/app.js';
import { buildServices } from '../../src/server/services.js';
import { RepoSimulator, sha256Hex } from '../helpers/simulator.js';
import { updaterFor } from '../helpers/trust.js';

const DAY = 86_400_000;
const GUN = 'docker.io/library/off';
const manifest = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}');
const digest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;

async function registry(t: Test): Promise<{ url: string; requests: string[] }> {
  const requests: string[] = [];
  const s = createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.url === `/v2/library/off/manifests/${digest}`) return void res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end(manifest);
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => s.close(() => r())));
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, requests };
}

/** A store holding the repository's verified trust data, as `trust import` leaves it. */
async function imported(): Promise<{ sim: RepoSimulator; store: MemoryTrustStore }> {
  const sim = new RepoSimulator(GUN);
  sim.addTarget('targets', 'v1', manifest);
  sim.publish();
  const store = new MemoryTrustStore();
  await updaterFor(sim, { store }).refresh(GUN);
  return { sim, store };
}

async function offlineApp(t: Test, opts: { store: MemoryTrustStore; maxStaleness?: string; days?: number; lines?: string[]; policy?: unknown[] }) {
  const reg = await registry(t);
  const config = await parseConfig(
    {
      upstreams: [{ name: 'docker.io', registry: reg.url, notary: 'offline', default: true, ...(opts.maxStaleness ? { offline: { maxStaleness: opts.maxStaleness } } : {}) }],
      ...(opts.policy ? { policy: opts.policy } : {}),
      trust: { bundles: '/nonexistent' }, // required with an offline upstream; the store is passed in
    },
    { env: {}, baseDir: '/' },
  );
  const lines = opts.lines;
  const tg = await buildApp(
    buildServices(config, {
      stores: { trustStore: opts.store, results: new MemoryResultCache(), close: async () => {} },
      clock: () => Date.now() + (opts.days ?? 0) * DAY,
      ...(lines ? { logger: pino({ level: 'info' }, { write: (l: string) => void lines.push(l) }) } : {}),
    }),
  );
  t.teardown(() => tg.close());
  return { tg, reg };
}

t.test('offline: served from imported trust data, refused without it; no Notary is ever asked', async (t) => {
  const { store } = await imported();
  const { tg, reg } = await offlineApp(t, { store });
  const r = await tg.app.inject('/v2/library/off/manifests/v1');
  t.equal(r.statusCode, 200, r.body);
  t.equal(r.headers['docker-content-digest'], digest);
  const missing = await tg.app.inject('/v2/library/other/manifests/v1');
  t.equal(missing.statusCode, 403);
  t.match(missing.json(), { errors: [{ code: 'DENIED', detail: { reason: 'NO_TRUST_DATA' } }] });
  t.notOk(reg.requests.some((u) => u.includes('other')), 'nothing unverified went upstream');
  const ready = await tg.app.inject('/readyz');
  t.same(Object.keys(ready.json().checks), ['docker.io registry'], 'no Notary to be ready for');
});

t.test('offline grace: expired timestamp refused without it; served, logged and counted within it', async (t) => {
  const { store } = await imported();
  const strict = await offlineApp(t, { store, days: 20 });
  const refused = await strict.tg.app.inject('/v2/library/off/manifests/v1');
  t.equal(refused.statusCode, 403);
  t.match(refused.json(), { errors: [{ detail: { reason: 'EXPIRED', role: 'timestamp' } }] });

  const lines: string[] = [];
  const lenient = await offlineApp(t, { store, days: 20, maxStaleness: '30d', lines });
  for (let i = 0; i < 2; i++) {
    const r = await lenient.tg.app.inject('/v2/library/off/manifests/v1');
    t.equal(r.statusCode, 200, r.body);
  }
  const audits = lines.map((l) => JSON.parse(l)).filter((l) => l.audit === 'manifest');
  t.equal(audits.length, 2, 'an audit line per pull');
  t.ok(audits.every((a) => a.decision === 'served-under-grace'), 'each says it was served under grace');
  const metrics = (await lenient.tg.app.inject('/metrics')).body;
  t.match(metrics, /trustgate_manifest_decisions_total\{decision="served-under-grace",reason="",upstream="docker.io",system="notary"\} 2/);
  const remaining = Number(new RegExp(`trustgate_offline_grace_remaining_seconds\\{gun="${GUN}"\\} (-?\\d+)`).exec(metrics)?.[1]);
  // timestamp expires 14 days after import; 20 days later, 30 days of grace leave 24 days
  t.ok(Math.abs(remaining - 24 * 86400) < 120, `grace remaining ${remaining}s`);

  const past = await offlineApp(t, { store, days: 50, maxStaleness: '30d' });
  const gone = await past.tg.app.inject('/v2/library/off/manifests/v1');
  t.equal(gone.statusCode, 403, 'past the grace: refused');
  t.match(gone.json(), { errors: [{ detail: { reason: 'EXPIRED' } }] });
});

t.test('fresh trust data under a configured grace is simply served', async (t) => {
  const { store } = await imported();
  const { tg } = await offlineApp(t, { store, maxStaleness: '30d' });
  t.equal((await tg.app.inject('/v2/library/off/manifests/v1')).statusCode, 200);
  const metrics = (await tg.app.inject('/metrics')).body;
  t.match(metrics, /decision="served",reason="",upstream="docker.io",system="notary"\} 1/);
  t.notMatch(metrics, /trustgate_offline_grace_remaining_seconds\{/, 'no grace in use');
});

t.test('the Notary read API serves the stored trust data', async (t) => {
  const { sim, store } = await imported();
  const { tg } = await offlineApp(t, { store });
  const tuf = (name: string, method: 'GET' | 'HEAD' = 'GET') => tg.app.inject({ method, url: `/v2/${GUN}/_trust/tuf/${name}.json` });
  for (const role of ['root', 'timestamp', 'snapshot', 'targets']) {
    const r = await tuf(role);
    t.equal(r.statusCode, 200, role);
    t.same(r.rawPayload, sim.files.get(role), `${role}: the bytes as signed`);
  }
  const snap = sim.files.get('snapshot') as Buffer;
  t.same((await tuf(`snapshot.${sha256Hex(snap)}`)).rawPayload, snap, 'by consistent name');
  const other = await tuf(`snapshot.${'0'.repeat(64)}`);
  t.equal(other.statusCode, 404, 'a version not held');
  t.equal(other.json().errors[0].code, 'METADATA_NOT_FOUND');
  const head = await tuf('timestamp', 'HEAD');
  t.equal(head.statusCode, 200);
  t.equal(head.headers['content-length'], String(sim.files.get('timestamp')?.length));
  t.equal(head.body, '');
  t.equal((await tuf('targets/releases')).statusCode, 404, 'a role not held');
  t.equal((await tg.app.inject(`/v2/docker.io/library/nothing/_trust/tuf/root.json`)).statusCode, 404);
  for (const bad of [`/v2/${GUN}/_trust/tuf/..%2froot.json`, `/v2/${GUN}/_trust/tuf/secrets.json`, `/v2/Docker.io/x/_trust/tuf/root.json`, `/v2/${GUN}/_trust/tuf/targets/.hidden.json`]) {
    const r = await tg.app.inject(bad);
    t.equal(r.statusCode, 400, bad);
    t.equal(r.json().errors[0].code, 'NAME_INVALID', bad);
  }
});

t.test('the Notary read API follows the policy', async (t) => {
  const { store } = await imported();
  const { tg } = await offlineApp(t, { store, policy: [{ match: GUN, action: 'deny' }, { match: '*', action: 'verify' }] });
  const r = await tg.app.inject(`/v2/${GUN}/_trust/tuf/root.json`);
  t.equal(r.statusCode, 403);
  t.match(r.json(), { errors: [{ code: 'DENIED', detail: { reason: 'POLICY_DENIED' } }] });
});

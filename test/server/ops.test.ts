// /healthz, /readyz and /metrics: outside the registry API, and telling the truth.

import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { MemoryResultCache } from '../../src/cache/results.js';
import { MemoryTrustStore } from '../../src/cache/trust-store.js';
import { parseConfig } from '../../src/config/config.js';
import { buildApp } from '../../src/server/app.js';
import { buildServices } from '../../src/server/services.js';
import { freePort } from '../helpers/process.js';
import { RepoSimulator } from '../helpers/simulator.js';

async function listen(t: Test, handler: Parameters<typeof createServer>[1]): Promise<string> {
  const s: Server = createServer(handler);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => s.close(() => r())));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

t.test('health, readiness and metrics', async (t) => {
  const manifest = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}');
  const digest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
  const sim = new RepoSimulator('docker.io/library/ops');
  sim.addTarget('targets', 'v1', manifest);
  sim.publish();
  const notary = await sim.listen();
  t.teardown(() => sim.close());
  let registryUp = true;
  const registry = await listen(t, (req, res) => {
    if (!registryUp) return void res.writeHead(502).end();
    if (req.url === '/v2/') return void res.writeHead(401, { 'www-authenticate': 'Basic realm="x"' }).end();
    if (req.url === `/v2/library/ops/manifests/${digest}`) return void res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end(manifest);
    res.writeHead(404).end();
  });
  const config = await parseConfig({ upstreams: [{ name: 'docker.io', registry, notary, default: true }] }, { env: {}, baseDir: '/' });
  let storeOk = true;
  const stores = {
    trustStore: new MemoryTrustStore(),
    results: new MemoryResultCache(),
    check: async () => {
      if (!storeOk) throw new Error('redis down');
    },
    close: async () => {},
  };
  const tg = await buildApp(buildServices(config, { stores }), { readinessCacheMs: 0 });
  t.teardown(() => tg.close());

  t.same((await tg.app.inject('/healthz')).json(), { status: 'ok' });
  const ready = await tg.app.inject('/readyz');
  t.equal(ready.statusCode, 200, 'a registry answering 401 is answering');
  t.equal(ready.json().status, 'ready');

  t.equal((await tg.app.inject('/v2/library/ops/manifests/v1')).statusCode, 200);
  t.equal((await tg.app.inject('/v2/library/ops/manifests/v1')).statusCode, 200);
  t.equal((await tg.app.inject('/v2/library/ops/manifests/nope')).statusCode, 403);
  const metrics = (await tg.app.inject('/metrics')).body;
  t.match(metrics, /trustgate_manifest_decisions_total\{decision="served",reason="",upstream="docker.io",system="notary"\} 2/);
  t.match(metrics, /trustgate_manifest_decisions_total\{decision="refused",reason="NOT_SIGNED",upstream="docker.io",system="notary"\} 1/);
  t.match(metrics, /trustgate_cache_lookups_total\{cache="manifest",result="miss"\} 1/);
  t.match(metrics, /trustgate_cache_lookups_total\{cache="manifest",result="hot"\} 1/);
  const expiry = Number(/trustgate_trust_expiry_seconds\{gun="docker.io\/library\/ops"\} (-?\d+)/.exec(metrics)?.[1]);
  t.ok(expiry > 13 * 86400 && expiry <= 14 * 86400, `seconds until the timestamp expires: ${expiry}`);
  t.match(metrics, /trustgate_upstream_request_duration_seconds_count\{upstream="docker.io",service="notary",outcome="ok"\} [1-9]/);
  t.match(metrics, /trustgate_upstream_request_duration_seconds_count\{upstream="docker.io",service="registry",outcome="ok"\} 1/);
  t.match(metrics, /trustgate_trust_refreshes_total\{upstream="docker.io",result="ok"\} 1/);
  t.match(metrics, /trustgate_singleflight_joined\{operation="trust_refresh"\} 0/);
  t.match(metrics, /trustgate_process_resident_memory_bytes/);

  await t.test('not ready when the store or an upstream fails', async (t) => {
    storeOk = false;
    const r = await tg.app.inject('/readyz');
    t.equal(r.statusCode, 503);
    t.same(r.json().checks.redis, { ok: false, error: 'redis down' });
    storeOk = true;
    registryUp = false;
    const r2 = await tg.app.inject('/readyz');
    t.equal(r2.statusCode, 503);
    t.equal(r2.json().checks['docker.io registry'].ok, false);
    t.equal(r2.json().checks['docker.io notary'].ok, true);
  });
});

t.test('an unreachable upstream makes trustgate not ready', async (t) => {
  const closed = await freePort();
  const config = await parseConfig(
    { upstreams: [{ name: 'docker.io', registry: `http://127.0.0.1:${closed}`, notary: `http://127.0.0.1:${closed}`, default: true }] },
    { env: {}, baseDir: '/' },
  );
  const tg = await buildApp(buildServices(config, { stores: { trustStore: new MemoryTrustStore(), results: new MemoryResultCache(), close: async () => {} } }));
  t.teardown(() => tg.close());
  const r = await tg.app.inject('/readyz');
  t.equal(r.statusCode, 503);
  t.equal(r.json().checks['docker.io registry'].ok, false);
  t.equal((await tg.app.inject('/healthz')).statusCode, 200, 'alive nonetheless');
});

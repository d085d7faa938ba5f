// Faults with real processes killed and restarted: Notary unreachable (stale-if-error, never past
// expiry, automatic recovery), Redis down and back, an upstream registry that is down, hangs or cuts
// blobs, a Notary that hangs or answers garbage. Nothing hangs, nothing unverified is served.

import { join } from 'node:path';
import t from 'tap';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { ALL_MANIFEST_TYPES, buildLayouts, manifestOf, push } from '../helpers/images.js';
import { NotaryCli, startNotaryServer } from '../helpers/notary.js';
import { startForwarder, startRedis, startRegistry } from '../helpers/peers.js';
import { tempDir } from '../helpers/process.js';
import { startInProcess, type TrustgateSpec } from '../helpers/trustgate.js';

const dir = tempDir('faults');
t.teardown(dir.remove);
const REPO = 'library/demo';
const GUN = `docker.io/${REPO}`;
const DAY = 86_400_000;
const accept = { accept: ALL_MANIFEST_TYPES.join(',') };

type ErrorBody = { errors: { code: string; message: string; detail: { reason: string; role?: string } }[] };

async function timed(url: string, init?: RequestInit): Promise<{ status: number; body: string; ms: number }> {
  const t0 = Date.now();
  const r = await fetch(url, { headers: accept, ...init });
  const body = await r.text().catch(() => '');
  return { status: r.status, body, ms: Date.now() - t0 };
}

t.test('faults', async (t) => {
  const registry = await startRegistry(dir.path);
  t.teardown(registry.stop);
  const host = registry.url.replace('http://', '');
  const layouts = buildLayouts(join(dir.path, 'oci'));
  await push(layouts.single, 'v1', `${host}/${REPO}:v1`, { format: 'v2s2' });
  await push(layouts.single2, 'v2', `${host}/${REPO}:v2`, { format: 'v2s2' });
  await push(layouts.multi, 'multi', `${host}/${REPO}:v3`, { all: true });
  const v1 = await manifestOf(registry.url, REPO, 'v1');
  const v2 = await manifestOf(registry.url, REPO, 'v2');
  const v3 = await manifestOf(registry.url, REPO, 'v3');
  const notary = await startNotaryServer({ dir: join(dir.path, 'notary'), tls: false });
  t.teardown(notary.stop);
  const cli = new NotaryCli(join(dir.path, 'cli'), notary);
  await cli.init(GUN);
  for (const [tag, m] of [['v1', v1], ['v2', v2], ['v3', v3]] as const) {
    await cli.sign(GUN, tag, m);
  }
  const notaryPort = Number(new URL(notary.url).port);

  await t.test('Notary unreachable: stale-if-error until the trust data expires, then refused; recovery is automatic', async (t) => {
    let forwarder = await startForwarder(dir.path, notaryPort);
    t.teardown(() => forwarder.stop());
    let offset = 0;
    const tg = await startInProcess(
      dir.path,
      { upstreams: [{ name: 'docker.io', registry: registry.url, notary: forwarder.url, default: true }], trust: { refreshInterval: '1s' } },
      { clock: () => Date.now() + offset },
    );
    t.teardown(tg.stop);
    t.equal((await timed(`${tg.url}/v2/${REPO}/manifests/v1`)).status, 200);

    await forwarder.stop(); // Notary is gone
    offset = 5_000; // past the refresh interval
    const cached = await timed(`${tg.url}/v2/${REPO}/manifests/v1`);
    t.equal(cached.status, 200, 'a cached answer is served while its trust data is valid');
    const uncached = await timed(`${tg.url}/v2/${REPO}/manifests/v2`);
    t.equal(uncached.status, 200, 'a tag never asked for resolves from the stored, still-valid trust data');
    t.ok(uncached.ms < 3_000, `no wait on the dead Notary (${uncached.ms} ms)`);

    offset = 15 * DAY; // the 14-day timestamp has expired
    const expired = await timed(`${tg.url}/v2/${REPO}/manifests/v1`);
    t.equal(expired.status, 503);
    const e = (JSON.parse(expired.body) as ErrorBody).errors[0];
    t.equal(e?.detail.reason, 'UNREACHABLE', 'the refusal says Notary is unreachable');
    t.match(e?.message ?? '', /expired/, 'and that the stored trust data has expired');

    offset = 0;
    forwarder = await startForwarder(dir.path, notaryPort, forwarder.port);
    t.equal((await timed(`${tg.url}/v2/${REPO}/manifests/v1`)).status, 200, 'served again once Notary is back, with no restart');
  });

  await t.test('Redis down and restarted: served from the in-process cache meanwhile, Redis used again after', async (t) => {
    let redis = await startRedis(dir.path, { persist: true });
    t.teardown(() => redis.stop());
    const logLines: string[] = [];
    const tg = await startInProcess(dir.path, { upstreams: [{ name: 'docker.io', registry: registry.url, notary: notary.url, default: true }], redis: redis.url }, { logLines });
    t.teardown(tg.stop);
    t.equal((await timed(`${tg.url}/v2/${REPO}/manifests/v1`)).status, 200);

    await redis.stop();
    for (const tag of ['v1', 'v2', 'v3']) {
      const r = await timed(`${tg.url}/v2/${REPO}/manifests/${tag}`);
      t.equal(r.status, 200, `${tag} served with Redis down`);
      t.ok(r.ms < 3_000, `no request hangs on Redis (${r.ms} ms)`);
    }
    const down = await (await fetch(`${tg.url}/metrics`)).text();
    t.match(down, /trustgate_redis_up 0/, 'the metric says so');
    t.ok(logLines.some((l) => l.includes('redis unreachable')), 'and a log line');

    redis = await startRedis(dir.path, { port: redis.port, persist: true });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !/trustgate_redis_up 1/.test(await (await fetch(`${tg.url}/metrics`)).text())) {
      await new Promise((r) => setTimeout(r, 100));
    }
    t.match(await (await fetch(`${tg.url}/metrics`)).text(), /trustgate_redis_up 1/, 'back on Redis');
    t.ok(logLines.some((l) => l.includes('redis reachable again')));
    t.equal((await timed(`${tg.url}/v2/${REPO}/manifests/v1`)).status, 200);
  });

  await t.test('an upstream registry that is down, hangs, or cuts and stalls blobs', async (t) => {
    const proxy = new FaultProxy(registry.url);
    await proxy.start();
    t.teardown(() => proxy.stop());
    const spec: TrustgateSpec = { upstreams: [{ name: 'docker.io', registry: proxy.url, notary: notary.url, default: true }] };
    const tg = await startInProcess(dir.path, { ...spec, timeouts: { headers: '1s', bodyIdle: '1s' } });
    t.teardown(tg.stop);

    proxy.inject(t, { kind: 'hang', path: /\/manifests\// });
    const hung = await timed(`${tg.url}/v2/${REPO}/manifests/v1`);
    t.equal(hung.status, 503, 'a registry that never answers: refused');
    t.equal((JSON.parse(hung.body) as ErrorBody).errors[0]?.detail.reason, 'TIMEOUT');
    t.ok(hung.ms < 4_000, `within the headers timeout (${hung.ms} ms)`);

    proxy.mode = { kind: 'pass' };
    t.equal((await timed(`${tg.url}/v2/${REPO}/manifests/v1`)).status, 200);
    const image = JSON.parse(v1.body.toString()) as { layers: { digest: string; size: number }[] };
    const layer = image.layers[0] as { digest: string; size: number };
    const blobUrl = `${tg.url}/v2/${REPO}/blobs/${layer.digest}`;

    for (const kind of ['drop-mid-body', 'stall-body'] as const) {
      proxy.mode = { kind, path: /\/blobs\// };
      for (let i = 0; i < (kind === 'stall-body' ? 4 : 20); i++) {
        const got = await fetch(blobUrl)
          .then(async (r) => Buffer.from(await r.arrayBuffer()).length)
          .catch(() => -1); // the connection is cut: the client sees an aborted body
        t.not(got, layer.size, `${kind} #${i}: the client does not get a complete blob`);
      }
      await new Promise((r) => setTimeout(r, 300));
      t.ok((await proxy.connections()) <= 2, `${kind}: no connections to the upstream left behind`);
    }
    proxy.mode = { kind: 'pass' };
    const whole = await fetch(blobUrl);
    t.equal(Buffer.from(await whole.arrayBuffer()).length, layer.size, 'whole again once the upstream behaves');

    await proxy.stop();
    const gone = await timed(`${tg.url}/v2/${REPO}/blobs/${layer.digest}`);
    t.equal(gone.status, 503, 'a registry that is down');
    const manifestGone = await timed(`${tg.url}/v2/${REPO}/manifests/sha256:${'c'.repeat(64)}`);
    t.ok(manifestGone.status >= 400 && manifestGone.ms < 3_000);
  });

  await t.test('a Notary that hangs, answers garbage or an endless body', async (t) => {
    const nproxy = new FaultProxy(notary.url);
    await nproxy.start();
    t.teardown(() => nproxy.stop());
    const spec: TrustgateSpec = { upstreams: [{ name: 'docker.io', registry: registry.url, notary: nproxy.url, default: true }], timeouts: { notary: '2s' } };
    const cases = [
      [{ kind: 'hang', path: /timestamp\.json$/ }, 503, 'TIMEOUT'],
      [{ kind: 'garbage', path: /timestamp\.json$/ }, 403, 'METADATA_MALFORMED'],
      [{ kind: 'endless', path: /timestamp\.json$/ }, 403, 'TOO_LARGE'],
      [{ kind: 'garbage', path: /root\.json$/ }, 403, 'METADATA_MALFORMED'],
    ] as const;
    for (const [mode, status, reason] of cases) {
      await t.test(`${mode.kind} ${mode.path}`, async (t) => {
        const tg = await startInProcess(dir.path, spec); // nothing stored: the fault is all there is
        t.teardown(tg.stop);
        nproxy.inject(t, mode);
        const r = await timed(`${tg.url}/v2/${REPO}/manifests/v1`);
        t.equal(r.status, status, `${mode.kind} ${mode.path}`);
        t.equal((JSON.parse(r.body) as ErrorBody).errors[0]?.detail.reason, reason);
        t.ok(r.ms < 5_000, `bounded (${r.ms} ms)`);
        nproxy.mode = { kind: 'pass' };
        t.equal((await timed(`${tg.url}/v2/${REPO}/manifests/v1`)).status, 200, 'and served once Notary behaves');
      });
    }
  });
});

// An import takes effect at once on every running replica, through real processes: `trustgate trust
// import` (the CLI) of bundles exported from a Notary repository, `trustgate serve` replicas with a
// ten-minute refresh interval (so only the import can explain a changed answer), a real registry, and
// a real redis-server — two replicas on one Redis — or a `trust.bundles` directory.
//   - bundle A signs v1 and gone; both replicas serve them;
//   - bundle B re-points v1 and removes gone; right after its import, the next pull on every replica
//     gets B's digest for v1 and is refused gone.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { stringify } from 'yaml';
import { exportBundle } from '../../src/bundle/airgap.js';
import { loadConfig } from '../../src/config/config.js';
import { buildLayouts, manifestOf, push, ALL_MANIFEST_TYPES } from '../helpers/images.js';
import { startRedis, startRegistry } from '../helpers/peers.js';
import { freePort, run, tempDir, waitFor } from '../helpers/process.js';
import { RepoSimulator } from '../helpers/simulator.js';
import { CLI, startWithConfig } from '../helpers/trustgate.js';

const dir = tempDir('import-now');
t.teardown(dir.remove);
const REPO = 'library/imported';
const GUN = `docker.io/${REPO}`;
const accept = { accept: ALL_MANIFEST_TYPES.join(', ') };
let sites = 0;

interface World {
  registry: string;
  bundleA: string;
  bundleB: string;
  v1: { a: string; b: string };
}

/** A registry holding two images, and bundles A (v1 → first, gone → first) and B (v1 → second, no gone). */
async function world(t: Test): Promise<World> {
  const base = join(dir.path, `world-${++sites}`);
  const registry = await startRegistry(dir.path);
  t.teardown(registry.stop);
  const host = registry.url.replace('http://', '');
  const layouts = buildLayouts(join(base, 'oci'));
  await push(layouts.single, 'v1', `${host}/${REPO}:first`, { format: 'v2s2' });
  await push(layouts.single2, 'v2', `${host}/${REPO}:second`, { format: 'v2s2' });
  const first = await manifestOf(registry.url, REPO, 'first');
  const second = await manifestOf(registry.url, REPO, 'second');

  const sim = new RepoSimulator(GUN);
  sim.addTarget('targets', 'v1', first.body);
  sim.addTarget('targets', 'gone', first.body);
  sim.publish();
  const notary = await sim.listen();
  t.teardown(() => sim.close());
  const config = await loadConfig(undefined);
  const bundleA = join(base, 'bundle-a') + '/';
  await exportBundle([REPO], { out: bundleA, config, notary });
  sim.addTarget('targets', 'v1', second.body);
  delete (sim.signed.targets.targets as Record<string, unknown>).gone;
  sim.publish();
  const bundleB = join(base, 'bundle-b') + '/';
  await exportBundle([REPO], { out: bundleB, config, notary });
  return { registry: registry.url, bundleA, bundleB, v1: { a: first.digest, b: second.digest } };
}

/** A site's configuration for a replica listening on `port`: offline, a long refresh interval. */
function siteConfig(w: World, port: number, store: { redis: string; prefix: string } | { bundles: string }): string {
  const doc = {
    listen: `127.0.0.1:${port}`,
    upstreams: [{ name: 'docker.io', registry: w.registry, notary: 'offline', default: true }],
    trust: { refreshInterval: '10m', ...('bundles' in store ? { bundles: store.bundles } : {}) },
    ...('redis' in store ? { redis: store.redis, redisPrefix: store.prefix } : {}),
    log: { level: 'warn' },
  };
  const path = join(dir.path, `site-${port}.yaml`);
  writeFileSync(path, stringify(doc));
  return path;
}

async function importBundle(t: Test, bundle: string, config: string): Promise<string> {
  const r = await run(process.execPath, [CLI, 'trust', 'import', bundle, '--config', config], { timeoutMs: 60_000 });
  t.equal(r.code, 0, r.stderr);
  return r.stdout;
}

async function pull(url: string, tag: string): Promise<{ status: number; digest: string | null; reason: string | undefined }> {
  const r = await fetch(`${url}/v2/${REPO}/manifests/${tag}`, { headers: accept });
  const body = r.status === 200 ? undefined : ((await r.json()) as { errors: { detail?: { reason?: string } }[] });
  return { status: r.status, digest: r.headers.get('docker-content-digest'), reason: body?.errors[0]?.detail?.reason };
}

/**
 * The replica has handled the import's notice (the announcement, or the index change): "at once" is
 * as soon as it processes it, which nothing orders ahead of a request sent meanwhile.
 */
async function noticed(tg: { url: string }, reason: 'import' | 'index-changed'): Promise<void> {
  const counted = new RegExp(`^trustgate_trust_invalidations_total\\{reason="${reason}"\\} [1-9]`, 'm');
  await waitFor(`the ${reason} notice`, async () => counted.test(await (await fetch(`${tg.url}/metrics`)).text()), 10_000);
}

async function startReplica(t: Test, config: string, port: number) {
  const tg = await startWithConfig(dir.path, config, port);
  t.teardown(tg.stop);
  return tg;
}

t.test('two replicas on one Redis: an import re-points and revokes at once on both', async (t) => {
  const w = await world(t);
  const redis = await startRedis(dir.path);
  t.teardown(redis.stop);
  const store = { redis: redis.url, prefix: 'now:' };
  const ports = [await freePort(), await freePort()];
  const configs = ports.map((port) => siteConfig(w, port, store));
  await importBundle(t, w.bundleA, configs[0] as string);
  const replicas = [await startReplica(t, configs[0] as string, ports[0] as number), await startReplica(t, configs[1] as string, ports[1] as number)];
  for (const tg of replicas) {
    t.equal((await pull(tg.url, 'v1')).digest, w.v1.a, `replica ${tg.port} serves v1 from bundle A`);
    t.equal((await pull(tg.url, 'gone')).status, 200);
  }

  const out = await importBundle(t, w.bundleB, configs[0] as string);
  t.match(out, /announced to running replicas/);
  for (const tg of replicas) {
    await noticed(tg, 'import');
    t.equal((await pull(tg.url, 'v1')).digest, w.v1.b, `replica ${tg.port}: the next pull gets bundle B's v1`);
    t.same(await pull(tg.url, 'gone'), { status: 403, digest: null, reason: 'NOT_SIGNED' }, `replica ${tg.port}: and is refused the tag B removed`);
  }
});

t.test('a trust.bundles site: an import re-points and revokes at once', async (t) => {
  const w = await world(t);
  const bundles = join(dir.path, `bundles-${sites}`);
  mkdirSync(bundles, { mode: 0o755 });
  const port = await freePort();
  const config = siteConfig(w, port, { bundles });
  await importBundle(t, w.bundleA, config);
  const tg = await startReplica(t, config, port);
  t.equal((await pull(tg.url, 'v1')).digest, w.v1.a, 'serves v1 from bundle A');
  t.equal((await pull(tg.url, 'gone')).status, 200);

  await importBundle(t, w.bundleB, config);
  await noticed(tg, 'index-changed');
  t.equal((await pull(tg.url, 'v1')).digest, w.v1.b, "the next pull gets bundle B's v1");
  t.same(await pull(tg.url, 'gone'), { status: 403, digest: null, reason: 'NOT_SIGNED' }, 'and is refused the tag B removed');
});

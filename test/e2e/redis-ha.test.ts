// Redis as a real distributed store, through `trustgate serve` processes:
//   Sentinel  one master, one replica, three sentinels, two trustgate replicas; the master is killed
//             while pulls run: nothing unverified is served, no root or floor is lost (writes waited for
//             the replica's acknowledgment), and pulls are served again once the sentinels promoted
//             the replica (the README states the bound).
//   Cluster   three masters; a repository's keys in one slot; trustgate restarted; a replay of older
//             trust data is still refused.

import { join } from 'node:path';
import t from 'tap';
import { Redis } from 'ioredis';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { ALL_MANIFEST_TYPES, buildLayouts, manifestOf, push } from '../helpers/images.js';
import { NotaryCli, startNotaryServer } from '../helpers/notary.js';
import { startRegistry } from '../helpers/peers.js';
import { tempDir } from '../helpers/process.js';
import { settled, startCluster, startSentinelSet } from '../helpers/redis-ha.js';
import { startProcess, type RunningTrustgate, type TrustgateSpec } from '../helpers/trustgate.js';

const dir = tempDir('redis-ha');
t.teardown(dir.remove);
const REPO = 'library/demo';
const GUN = `docker.io/${REPO}`;
const PASSWORD = 'ha-test-password';
const accept = { accept: ALL_MANIFEST_TYPES.join(',') };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** How long the test allows from the kill until every replica serves again (the README's bound, generously). */
const FAILOVER_BOUND_MS = 30_000;

async function pull(tg: RunningTrustgate, tag: string): Promise<{ status: number; digest: string | null; reason?: string; role?: string }> {
  const r = await fetch(`${tg.url}/v2/${REPO}/manifests/${tag}`, { headers: accept });
  const digest = r.headers.get('docker-content-digest');
  if (r.ok) return { status: r.status, digest };
  const e = ((await r.json()) as { errors: { detail: { reason: string; role?: string } }[] }).errors[0];
  return { status: r.status, digest, ...(e ? { reason: e.detail.reason, ...(e.detail.role ? { role: e.detail.role } : {}) } : {}) };
}

/** A pull from a replica whose store should answer (redis-ha.ts `settled`). */
async function pullSettled(tg: RunningTrustgate, tag: string): ReturnType<typeof pull> {
  return settled(() => pull(tg, tag));
}

t.test('Sentinel and Cluster', async (t) => {
  const registry = await startRegistry(dir.path);
  t.teardown(registry.stop);
  const layouts = buildLayouts(join(dir.path, 'oci'));
  await push(layouts.single, 'v1', `${registry.url.replace('http://', '')}/${REPO}:v1`, { format: 'v2s2' });
  const image = await manifestOf(registry.url, REPO, 'v1');
  const notary = await startNotaryServer({ dir: join(dir.path, 'notary'), tls: false });
  t.teardown(notary.stop);
  const cli = new NotaryCli(join(dir.path, 'cli'), notary);
  await cli.init(GUN);
  await cli.sign(GUN, 'v1', image);
  const oldTimestamp = Buffer.from(await (await fetch(`${notary.url}/v2/${GUN}/_trust/tuf/timestamp.json`)).arrayBuffer());
  await cli.sign(GUN, 'latest', image);
  await cli.sign(GUN, 'unpulled', image); // a tag no replica verifies before the replay checks
  const mitm = new FaultProxy(notary.url);
  await mitm.start();
  t.teardown(() => mitm.stop());
  const upstreams = [{ name: 'docker.io', registry: registry.url, notary: mitm.url, default: true }];

  await t.test('Sentinel: the master is killed while pulls run', async (t) => {
    const set = await startSentinelSet(dir.path, PASSWORD);
    t.teardown(set.stop);
    const spec: TrustgateSpec = {
      upstreams,
      redis: { sentinels: set.addresses, name: set.name, passwordEnv: 'TG_REDIS_PASSWORD' },
      trust: { refreshInterval: '1s' },
      env: { TG_REDIS_PASSWORD: PASSWORD },
    };
    const replicas = [await startProcess(dir.path, spec, 'ha:'), await startProcess(dir.path, spec, 'ha:')];
    for (const r of replicas) t.teardown(r.stop);
    for (const r of replicas) t.same((await pullSettled(r, 'latest')).digest, image.digest);
    const admin = new Redis({ host: '127.0.0.1', port: set.master.port, password: PASSWORD, maxRetriesPerRequest: 0 });
    admin.on('error', () => {}); // the master is about to die
    t.teardown(() => admin.disconnect());
    const before = await admin.hgetall(`ha:{${GUN}}:versions`);
    t.ok(Number(before.timestamp) > 0 && Number(before.root) > 0, 'root and floors in the master');

    const seen: { status: number; digest: string | null; reason?: string; at: number }[] = [];
    const killedAt = Date.now();
    set.master.daemon.child.kill('SIGKILL');
    let servedAgain = false;
    let promoted = false;
    for (let i = 0; Date.now() - killedAt < FAILOVER_BOUND_MS && !servedAgain; i++) {
      const tag = i % 2 === 0 ? 'v1' : 'latest';
      const results = await Promise.all(replicas.map((r) => pull(r, tag).then((p) => ({ ...p, at: Date.now() }))));
      seen.push(...results);
      promoted ||= (await set.masterPort().catch(() => 0)) === set.replica.port;
      // served again: both replicas answer after the sentinels promoted the replica and their
      // stores answer (a fresh tag each round makes them verify, not replay a cached answer)
      servedAgain = promoted && results.every((r) => r.status === 200) && (await storesAnswer(replicas));
      await sleep(200);
    }
    const refused = seen.filter((r) => r.status !== 200);
    t.comment(`served again ${Date.now() - killedAt} ms after the kill; ${refused.length} of ${seen.length} pulls refused meanwhile (${[...new Set(refused.map((r) => r.reason))].join(", ")})`);
    t.ok(promoted, 'the sentinels promoted the replica');
    t.ok(servedAgain, `every replica served again within ${FAILOVER_BOUND_MS / 1000} s of the kill`);
    t.ok(seen.length > 0 && seen.every((r) => r.status !== 200 || r.digest === image.digest), `nothing unverified was served (${seen.length} pulls)`);
    t.ok(seen.every((r) => r.status === 200 || r.status === 503), 'a pull either served the signed image or was refused as unavailable');

    const promotedAdmin = new Redis({ host: '127.0.0.1', port: set.replica.port, password: PASSWORD });
    t.teardown(() => promotedAdmin.disconnect());
    const after = await promotedAdmin.hgetall(`ha:{${GUN}}:versions`);
    for (const [role, v] of Object.entries(before)) t.ok(Number(after[role]) >= Number(v), `the ${role} floor survived the failover (${v} → ${after[role]})`);
    const fresh = await startProcess(dir.path, spec, 'ha:');
    t.teardown(fresh.stop);
    mitm.mode = { kind: 'replay', path: /\/timestamp\.json$/, body: oldTimestamp };
    t.same(await pullSettled(fresh, 'unpulled'), { status: 403, digest: null, reason: 'ROLLBACK', role: 'timestamp' }, 'a new replica still refuses the older timestamp');
    mitm.mode = { kind: 'pass' };
    t.same((await pull(fresh, 'unpulled')).digest, image.digest);
  });

  await t.test('Cluster: a repository in one slot; after a restart a replay of older trust data is still refused', async (t) => {
    const cluster = await startCluster(dir.path);
    t.teardown(cluster.stop);
    const spec: TrustgateSpec = { upstreams, redis: { cluster: cluster.addresses }, trust: { refreshInterval: '1s' } };
    const first = await startProcess(dir.path, spec, 'cl:');
    t.same((await pullSettled(first, 'latest')).digest, image.digest);
    const keys: string[] = [];
    const slots = new Set<number>();
    for (const n of cluster.nodes) {
      const c = new Redis({ host: '127.0.0.1', port: n.port });
      keys.push(...(await c.keys(`cl:{${GUN}}:*`)));
      for (const k of await c.keys(`cl:{${GUN}}:*`)) slots.add(Number(await c.cluster('KEYSLOT', k)));
      c.disconnect();
    }
    t.ok(keys.some((k) => k.endsWith(':meta:root')) && keys.some((k) => k.endsWith(':versions')), `root and floors stored (${keys.length} keys)`);
    t.equal(slots.size, 1, 'every key of the repository is in one slot');
    await first.stop();

    const restarted = await startProcess(dir.path, spec, 'cl:');
    t.teardown(restarted.stop);
    mitm.mode = { kind: 'replay', path: /\/timestamp\.json$/, body: oldTimestamp };
    t.same(await pullSettled(restarted, 'unpulled'), { status: 403, digest: null, reason: 'ROLLBACK', role: 'timestamp' }, 'the replay is refused after the restart');
    mitm.mode = { kind: 'pass' };
    t.same((await pull(restarted, 'unpulled')).digest, image.digest);
  });
});

/** Both replicas' shared stores answer (their readiness checks pass). */
async function storesAnswer(replicas: RunningTrustgate[]): Promise<boolean> {
  for (const r of replicas) {
    const ready = (await (await fetch(`${r.url}/readyz`)).json()) as { checks: Record<string, { ok: boolean }> };
    if (!ready.checks.redis?.ok) return false;
  }
  return true;
}

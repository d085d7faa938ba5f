// Two trustgate processes sharing one Redis: one view of trust data and one rollback memory. A
// rollback seen by one replica (its Notary replays an old timestamp) is refused because the other
// already saw newer trust data — and the memory survives a restart.

import { join } from 'node:path';
import t from 'tap';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { ALL_MANIFEST_TYPES, buildLayouts, manifestOf, push } from '../helpers/images.js';
import { NotaryCli, startNotaryServer } from '../helpers/notary.js';
import { startRedis, startRegistry } from '../helpers/peers.js';
import { run, tempDir } from '../helpers/process.js';
import { configDoc, startProcess, type TrustgateSpec } from '../helpers/trustgate.js';
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli.js');

const dir = tempDir('replicas-e2e');
t.teardown(dir.remove);
const REPO = 'library/demo';
const GUN = `docker.io/${REPO}`;
const accept = { accept: ALL_MANIFEST_TYPES.join(',') };

t.test('replicas share trust data and rollback memory through Redis', async (t) => {
  const registry = await startRegistry(dir.path);
  t.teardown(registry.stop);
  const host = registry.url.replace('http://', '');
  const layouts = buildLayouts(join(dir.path, 'oci'));
  await push(layouts.single, 'v1', `${host}/${REPO}:v1`, { format: 'v2s2' });
  await push(layouts.single2, 'v2', `${host}/${REPO}:v2`, { format: 'v2s2' });
  const v1 = await manifestOf(registry.url, REPO, 'v1');
  const v2 = await manifestOf(registry.url, REPO, 'v2');

  const notary = await startNotaryServer({ dir: join(dir.path, 'notary'), tls: false });
  t.teardown(notary.stop);
  const cli = new NotaryCli(join(dir.path, 'cli'), notary);
  await cli.init(GUN);
  await cli.sign(GUN, 'v1', v1);
  const oldTimestamp = Buffer.from(await (await fetch(`${notary.url}/v2/${GUN}/_trust/tuf/timestamp.json`)).arrayBuffer());
  await cli.sign(GUN, 'v2', v2);

  const redis = await startRedis(dir.path);
  t.teardown(redis.stop);
  const notaryA = new FaultProxy(notary.url);
  const notaryB = new FaultProxy(notary.url);
  await notaryA.start();
  await notaryB.start();
  t.teardown(() => notaryA.stop());
  t.teardown(() => notaryB.stop());
  const spec = (notaryUrl: string): TrustgateSpec => ({
    upstreams: [{ name: 'docker.io', registry: registry.url, notary: notaryUrl, default: true }],
    redis: redis.url,
  });

  const a = await startProcess(dir.path, spec(notaryA.url), 'shared:');
  t.teardown(a.stop);
  const b = await startProcess(dir.path, spec(notaryB.url), 'shared:');
  t.teardown(b.stop);

  t.equal((await fetch(`${a.url}/v2/${REPO}/manifests/v1`, { headers: accept })).status, 200, 'replica A pulls and records the newest versions');

  notaryB.inject(t, { kind: 'replay', path: /\/timestamp\.json$/, body: oldTimestamp });
  const rolledBack = await fetch(`${b.url}/v2/${REPO}/manifests/v2`, { headers: accept });
  t.equal(rolledBack.status, 403, 'replica B refuses the replayed timestamp');
  const err = (await rolledBack.json()) as { errors: { code: string; detail: { reason: string; role?: string } }[] };
  t.same({ code: err.errors[0]?.code, reason: err.errors[0]?.detail.reason, role: err.errors[0]?.detail.role }, { code: 'DENIED', reason: 'ROLLBACK', role: 'timestamp' });

  // B never serves an answer it did not verify itself: under attack, it refuses every tag
  t.equal((await fetch(`${b.url}/v2/${REPO}/manifests/v1`, { headers: accept })).status, 403, 'B does not take A\'s answer while its own Notary path replays');

  await a.stop();
  const a2 = await startProcess(dir.path, spec(notaryB.url), 'shared:');
  t.teardown(a2.stop);
  const afterRestart = await fetch(`${a2.url}/v2/${REPO}/manifests/v2`, { headers: accept });
  t.equal(afterRestart.status, 403, 'a restarted replica still remembers: rollback refused');

  notaryB.mode = { kind: 'pass' };
  t.equal((await fetch(`${b.url}/v2/${REPO}/manifests/v2`, { headers: accept })).status, 200, 'an honest answer is served again');

  await t.test('trustgate warm fills the shared store: a new replica serves with Notary unreachable', async (t) => {
    await cli.addHash(GUN, 'v3', v1.body);
    const unreachable = new FaultProxy(notary.url);
    await unreachable.start();
    t.teardown(() => unreachable.stop());
    const cfg = join(dir.path, 'warm.yaml');
    writeFileSync(cfg, stringify({ ...configDoc(spec(notary.url), 0), redisPrefix: 'shared:' }));
    const warm = await run(process.execPath, [CLI, 'warm', '--config', cfg, `${REPO}:v3`, REPO]);
    t.equal(warm.code, 0, warm.stderr);
    t.match(warm.stdout, `${REPO}:v3: warm (${v1.digest})`);
    await unreachable.stop(); // nothing listens there any more
    const c = await startProcess(dir.path, spec(unreachable.url), 'shared:');
    t.teardown(c.stop);
    const r = await fetch(`${c.url}/v2/${REPO}/manifests/v3`, { headers: accept });
    t.equal(r.status, 200, 'served from the warmed store');
    t.equal(r.headers.get('docker-content-digest'), v1.digest);
    const miss = await run(process.execPath, [CLI, 'warm', '--config', cfg, `${REPO}:never-signed`]);
    t.equal(miss.code, 1);
    t.match(miss.stderr, 'NOT_SIGNED');
  });
});

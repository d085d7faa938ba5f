// An under-signed delegation with a huge version, then the owner's fix — through `trustgate serve`
// processes and a real redis-server. The repository is simulated (served over HTTP as notary-server
// lays it out): a notary-server validates delegation signatures on publish, so only a holder of the
// snapshot key (a compromised server) can publish this, which no real server can be made to do.

import { join } from 'node:path';
import t from 'tap';
import { Redis } from 'ioredis';
import { ALL_MANIFEST_TYPES, buildLayouts, manifestOf, push } from '../helpers/images.js';
import { startRedis, startRegistry } from '../helpers/peers.js';
import { tempDir } from '../helpers/process.js';
import { settled } from '../helpers/redis-ha.js';
import { RepoSimulator } from '../helpers/simulator.js';
import { startProcess, type RunningTrustgate, type TrustgateSpec } from '../helpers/trustgate.js';

const dir = tempDir('trust-state-sim');
t.teardown(dir.remove);
const REPO = 'library/sim';
const GUN = `docker.io/${REPO}`;
const RELEASES = 'targets/releases';
const accept = { accept: ALL_MANIFEST_TYPES.join(',') };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function pull(tg: RunningTrustgate, tag: string): Promise<{ status: number; reason?: string; role?: string }> {
  const r = await fetch(`${tg.url}/v2/${REPO}/manifests/${tag}`, { headers: accept });
  if (r.ok) return { status: r.status };
  const e = ((await r.json()) as { errors: { detail: { reason: string; role?: string } }[] }).errors[0];
  return { status: r.status, ...(e ? { reason: e.detail.reason, ...(e.detail.role ? { role: e.detail.role } : {}) } : {}) };
}

/** A pull from a replica whose store should answer (redis-ha.ts `settled`). */
async function pullSettled(tg: RunningTrustgate, tag: string): ReturnType<typeof pull> {
  return settled(() => pull(tg, tag));
}

t.test('an under-signed delegation with a huge version does not raise the floor; the fix is served', async (t) => {
  const registry = await startRegistry(dir.path);
  t.teardown(registry.stop);
  const layouts = buildLayouts(join(dir.path, 'oci'));
  await push(layouts.single, 'v1', `${registry.url.replace('http://', '')}/${REPO}:v1`, { format: 'v2s2' });
  const image = await manifestOf(registry.url, REPO, 'v1');

  const sim = new RepoSimulator(GUN);
  sim.addDelegation(RELEASES);
  sim.addTarget(RELEASES, 'v1', image.body);
  sim.publish();
  const notary = await sim.listen();
  t.teardown(() => sim.close());
  const redis = await startRedis(dir.path);
  t.teardown(redis.stop);
  const spec: TrustgateSpec = { upstreams: [{ name: 'docker.io', registry: registry.url, notary, default: true }], redis: redis.url, trust: { refreshInterval: '1s' } };
  const a = await startProcess(dir.path, spec, 'sim:');
  t.teardown(a.stop);
  t.same(await pullSettled(a, 'v1'), { status: 200 });

  // the snapshot-key holder's file: version 2^53-1, signed by nobody the delegation names
  const releases = sim.delegation(RELEASES);
  releases.signed.version = Number.MAX_SAFE_INTEGER - 1;
  sim.signatureHooks.set(RELEASES, () => []);
  sim.addTarget(RELEASES, 'v2', image.body);
  sim.publish();
  await sleep(1_100); // past the refresh interval
  t.same(await pull(a, 'v2'), { status: 403, reason: 'NOT_SIGNED' }, 'left out, as notary leaves it out');
  const admin = new Redis(redis.url);
  t.teardown(() => admin.disconnect());
  t.equal(await admin.hget(`sim:{${GUN}}:versions`, RELEASES), '1', 'its floor stays at the last verified version');

  // the owner re-signs the delegation at its next version
  sim.signatureHooks.clear();
  releases.signed.version = 1;
  sim.addTarget(RELEASES, 'v3', image.body);
  sim.publish();
  await sleep(1_100);
  t.same(await pull(a, 'v3'), { status: 200 }, 'the fix is served');
  const b = await startProcess(dir.path, spec, 'sim:');
  t.teardown(b.stop);
  t.same(await pullSettled(b, 'v3'), { status: 200 }, 'by every replica');
  t.equal(await admin.hget(`sim:{${GUN}}:versions`, RELEASES), '2');
});

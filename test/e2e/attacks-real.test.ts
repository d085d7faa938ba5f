// Attacks through the real path: a man in the middle in front of a real notary-server and registry
// replays old trust data (rollback), freezes it (an old timestamp served past its expiry), mixes files
// from other versions and repositories, swaps manifest bytes, sends endless or oversized bodies. Each
// is refused with its own code, and the honest answer is served again afterwards.

import { join } from 'node:path';
import t, { type Test } from 'tap';
import { FaultProxy, type FaultMode } from '../helpers/fault-proxy.js';
import { ALL_MANIFEST_TYPES, buildLayouts, manifestOf, push } from '../helpers/images.js';
import { NotaryCli, startNotaryServer } from '../helpers/notary.js';
import { startRegistry } from '../helpers/peers.js';
import { tempDir } from '../helpers/process.js';
import { startInProcess, type RunningTrustgate } from '../helpers/trustgate.js';

const dir = tempDir('attacks-real');
t.teardown(dir.remove);
const REPO = 'library/demo';
const GUN = `docker.io/${REPO}`;
const OTHER = 'docker.io/library/other';
const DAY = 86_400_000;
const accept = { accept: ALL_MANIFEST_TYPES.join(',') };

type ErrorBody = { errors: { code: string; detail: { reason: string; role?: string } }[] };

t.test('attacks through a real notary-server and registry', async (t) => {
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
  const sign = cli.sign.bind(cli);
  await cli.init(GUN);
  await sign(GUN, 'v1', v1);
  await cli.init(OTHER);
  await sign(OTHER, 'v1', v1);
  const tuf = async (gun: string, file: string) => Buffer.from(await (await fetch(`${notary.url}/v2/${gun}/_trust/tuf/${file}`)).arrayBuffer());
  const oldTimestamp = await tuf(GUN, 'timestamp.json');
  const oldSnapshot = await tuf(GUN, 'snapshot.json');
  const oldTargets = await tuf(GUN, 'targets.json');
  await sign(GUN, 'v2', v2); // newer versions of timestamp, snapshot and targets
  const otherSnapshot = await tuf(OTHER, 'snapshot.json');

  const notaryMitm = new FaultProxy(notary.url);
  const registryMitm = new FaultProxy(registry.url);
  await notaryMitm.start();
  await registryMitm.start();
  t.teardown(() => notaryMitm.stop());
  t.teardown(() => registryMitm.stop());
  let offset = 0;
  const start = () =>
    startInProcess(
      dir.path,
      { upstreams: [{ name: 'docker.io', registry: registryMitm.url, notary: notaryMitm.url, default: true }], trust: { refreshInterval: '1s' } },
      { clock: () => Date.now() + offset },
    );

  /** Apply a fault to a trustgate, expect the refusal, then the honest answer again. */
  async function attack(t: Test, tg: RunningTrustgate, mitm: FaultProxy, mode: FaultMode, tag: string, status: number, reason: string, role?: string) {
    mitm.inject(t, mode);
    const r = await fetch(`${tg.url}/v2/${REPO}/manifests/${tag}`, { headers: accept });
    t.equal(r.status, status, `${mode.kind} refused`);
    const e = ((await r.json()) as ErrorBody).errors[0];
    t.equal(e?.detail.reason, reason);
    if (role) t.equal(e?.detail.role, role);
    mitm.mode = { kind: 'pass' };
    offset += 2_000; // past the refresh interval
    const honest = await fetch(`${tg.url}/v2/${REPO}/manifests/${tag}`, { headers: accept });
    t.equal(honest.status, 200, 'the honest answer is served again');
  }

  await t.test('rollback: an older timestamp after a newer one was seen', async (t) => {
    const tg = await start();
    t.teardown(tg.stop);
    t.equal((await fetch(`${tg.url}/v2/${REPO}/manifests/v1`, { headers: accept })).status, 200);
    offset += 2_000;
    await attack(t, tg, notaryMitm, { kind: 'replay', path: /timestamp\.json$/, body: oldTimestamp }, 'v2', 403, 'ROLLBACK', 'timestamp');
  });

  await t.test('mix-and-match: an older snapshot or targets where newer ones are signed', async (t) => {
    for (const [file, bytes] of [
      ['snapshot', oldSnapshot],
      ['targets', oldTargets],
    ] as const) {
      await t.test(file, async (t) => {
        const tg = await start();
        t.teardown(tg.stop);
        await attack(t, tg, notaryMitm, { kind: 'replay', path: new RegExp(`/${file}\\.[0-9a-f]{64}\\.json$`), body: bytes }, 'v1', 403, 'LENGTH_OR_HASH_MISMATCH', file);
      });
    }
  });

  await t.test('mix-and-match: the snapshot of another repository', async (t) => {
    const tg = await start();
    t.teardown(tg.stop);
    await attack(t, tg, notaryMitm, { kind: 'replay', path: /\/snapshot\.[0-9a-f]{64}\.json$/, body: otherSnapshot }, 'v1', 403, 'LENGTH_OR_HASH_MISMATCH', 'snapshot');
  });

  await t.test('freeze: a timestamp replayed past its expiry', async (t) => {
    const tg = await start();
    t.teardown(tg.stop);
    offset = 15 * DAY;
    t.teardown(() => (offset = 0));
    notaryMitm.inject(t, { kind: 'replay', path: /timestamp\.json$/, body: oldTimestamp });
    const r = await fetch(`${tg.url}/v2/${REPO}/manifests/v1`, { headers: accept });
    t.equal(r.status, 403);
    const e = ((await r.json()) as ErrorBody).errors[0];
    t.same({ reason: e?.detail.reason, role: e?.detail.role }, { reason: 'EXPIRED', role: 'timestamp' });
    notaryMitm.mode = { kind: 'pass' };
    offset = 0;
    t.equal((await fetch(`${tg.url}/v2/${REPO}/manifests/v1`, { headers: accept })).status, 200, 'fresh trust data is served again');
  });

  await t.test('endless and oversized trust files', async (t) => {
    const tg = await start();
    t.teardown(tg.stop);
    await attack(t, tg, notaryMitm, { kind: 'endless', path: /\/snapshot\.[0-9a-f]{64}\.json$/ }, 'v1', 403, 'TOO_LARGE', 'snapshot');
    const tg2 = await start();
    t.teardown(tg2.stop);
    await attack(t, tg2, notaryMitm, { kind: 'replay', path: /timestamp\.json$/, body: Buffer.alloc((1 << 20) + 1, 0x20) }, 'v1', 403, 'TOO_LARGE', 'timestamp');
  });

  await t.test('swapped manifest bytes', async (t) => {
    const tg = await start();
    t.teardown(tg.stop);
    await attack(t, tg, registryMitm, { kind: 'swap-manifest', body: v2.body }, 'v1', 403, 'DIGEST_MISMATCH');
  });
});

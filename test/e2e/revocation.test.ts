// Revocation and what the shared store may say, through real `trustgate serve` processes, a real
// registry, a real notary-server signed by the notary CLI, and a real redis-server:
//   - a revoked or re-pointed tag, and the children of an index that is no longer signed, are refused
//     from the first pull after `trust.refreshInterval` — never served once more from a cache;
//   - SIGHUP drops every verified answer at once;
//   - write access to Redis does not get a replica to serve what the trusted keys did not sign;
//   - a replica keeps serving what it verified while Notary and the store are both out, until expiry.

import { join } from 'node:path';
import { Redis } from 'ioredis';
import t, { type Test } from 'tap';
import { ALL_MANIFEST_TYPES, buildLayouts, manifestOf, push } from '../helpers/images.js';
import { NotaryCli, startNotaryServer } from '../helpers/notary.js';
import { startForwarder, startRedis, startRegistry } from '../helpers/peers.js';
import { tempDir, waitFor } from '../helpers/process.js';
import { startProcess, type TrustgateSpec } from '../helpers/trustgate.js';

const dir = tempDir('revocation');
t.teardown(dir.remove);
const REPO = 'library/revoke';
const GUN = `docker.io/${REPO}`;
const accept = { accept: ALL_MANIFEST_TYPES.join(', ') };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Manifest = { digest: string; size: number; body: Buffer };

interface World {
  cli: NotaryCli;
  m: Record<'single' | 'single2' | 'multi' | 'unsigned', Manifest>;
  children: string[];
  spec(extra?: Partial<TrustgateSpec>, notaryUrl?: string): TrustgateSpec;
  notaryPort: number;
}

let worlds = 0;

async function world(t: Test): Promise<World> {
  const base = join(dir.path, `world-${++worlds}`);
  const registry = await startRegistry(dir.path);
  t.teardown(registry.stop);
  const reg = registry.url.replace('http://', '');
  const layouts = buildLayouts(join(base, 'oci'));
  const extra = buildLayouts(join(base, 'oci-extra'), ' (unsigned)');
  await push(layouts.single, 'v1', `${reg}/${REPO}:single`, { format: 'v2s2' });
  await push(layouts.single2, 'v2', `${reg}/${REPO}:single2`, { format: 'v2s2' });
  await push(layouts.multi, 'multi', `${reg}/${REPO}:multi`, { all: true });
  await push(extra.single, 'v1', `${reg}/${REPO}:unsigned`, { format: 'v2s2' });
  const m = {
    single: await manifestOf(registry.url, REPO, 'single'),
    single2: await manifestOf(registry.url, REPO, 'single2'),
    multi: await manifestOf(registry.url, REPO, 'multi'),
    unsigned: await manifestOf(registry.url, REPO, 'unsigned'),
  };
  const children = (JSON.parse(m.multi.body.toString()) as { manifests: { digest: string }[] }).manifests.map((c) => c.digest);
  const notary = await startNotaryServer({ dir: join(base, 'notary') });
  t.teardown(notary.stop);
  const cli = new NotaryCli(join(base, 'notary-cli'), notary);
  await cli.init(GUN);
  const notaryPort = Number(new URL(notary.url).port);
  return {
    cli,
    m,
    children,
    notaryPort,
    spec: (extraSpec = {}, notaryUrl = notary.url) => ({
      upstreams: [{ name: 'docker.io', registry: registry.url, notary: notaryUrl, ca: notary.caPath, default: true }],
      ...extraSpec,
    }),
  };
}

async function pull(url: string, ref: string): Promise<{ status: number; digest: string | null; reason: string | undefined }> {
  const r = await fetch(`${url}/v2/${REPO}/manifests/${ref}`, { headers: accept });
  const body = r.status === 200 ? undefined : ((await r.json()) as { errors: { detail?: { reason?: string } }[] });
  return { status: r.status, digest: r.headers.get('docker-content-digest'), reason: body?.errors[0]?.detail?.reason };
}

/** Wait until `ms` have passed since `since` (epoch ms). */
async function until(since: number, ms: number): Promise<void> {
  const left = since + ms - Date.now();
  if (left > 0) await sleep(left);
}

t.test('revocation takes effect from the first pull after the refresh interval', async (t) => {
  const w = await world(t);
  const INTERVAL = 1_500;
  // signed before the first pull: a new signature, like a revocation, is seen from the next refresh
  await w.cli.sign(GUN, 'gone', w.m.single);
  await w.cli.sign(GUN, 'moving', w.m.single);
  await w.cli.sign(GUN, 'multi', w.m.multi);
  const tg = await startProcess(dir.path, w.spec({ trust: { refreshInterval: `${INTERVAL}ms` } }));
  t.teardown(tg.stop);

  await t.test('a revoked tag', async (t) => {
    t.equal((await pull(tg.url, 'gone')).status, 200);
    const first = Date.now(); // the trust data behind the answer is no newer than this
    await w.cli.notary('remove', GUN, 'gone', '-p');
    await until(first, INTERVAL + 200);
    t.same(await pull(tg.url, 'gone'), { status: 403, digest: null, reason: 'NOT_SIGNED' }, 'the very first pull after the interval is refused');
  });

  await t.test('a re-pointed tag', async (t) => {
    await until(Date.now(), INTERVAL + 200); // trust data fetched after the last change
    t.equal((await pull(tg.url, 'moving')).digest, w.m.single.digest);
    const first = Date.now();
    await w.cli.sign(GUN, 'moving', w.m.single2);
    await until(first, INTERVAL + 200);
    t.equal((await pull(tg.url, 'moving')).digest, w.m.single2.digest, 'the first pull after the interval gets the new digest');
  });

  await t.test('the children of an index that is no longer signed', async (t) => {
    t.equal((await pull(tg.url, 'multi')).status, 200);
    const child = w.children[0] as string;
    t.equal((await pull(tg.url, child)).status, 200, 'a child of the signed index is served by digest');
    const first = Date.now();
    await w.cli.notary('remove', GUN, 'multi', '-p');
    await until(first, INTERVAL + 200);
    t.same(await pull(tg.url, child), { status: 403, digest: null, reason: 'DIGEST_NOT_SIGNED' }, 'the child goes with its index');
  });
});

t.test('SIGHUP drops every verified answer at once', async (t) => {
  const w = await world(t);
  const tg = await startProcess(dir.path, w.spec({ trust: { refreshInterval: '10m' } }));
  t.teardown(tg.stop);
  await w.cli.sign(GUN, 'hup', w.m.single);
  await w.cli.sign(GUN, 'hup-moving', w.m.single);
  await w.cli.sign(GUN, 'multi', w.m.multi);
  t.equal((await pull(tg.url, 'hup')).status, 200);
  t.equal((await pull(tg.url, 'hup-moving')).digest, w.m.single.digest);
  t.equal((await pull(tg.url, 'multi')).status, 200);
  t.equal((await pull(tg.url, w.children[0] as string)).status, 200);
  await w.cli.notary('remove', GUN, 'hup', '-p');
  await w.cli.sign(GUN, 'hup-moving', w.m.single2);
  await w.cli.notary('remove', GUN, 'multi', '-p');
  t.equal((await pull(tg.url, 'hup')).status, 200, 'within the ten-minute interval the verified answer stands');
  t.equal((await pull(tg.url, 'hup-moving')).digest, w.m.single.digest, 'for the re-pointed tag too');
  tg.daemon.child.kill('SIGHUP');
  // the signal is handled when the process gets to it: wait for the invalidation it counts
  await waitFor('the SIGHUP to be handled', async () => /trustgate_trust_invalidations_total\{reason="reload"\} 1/.test(await (await fetch(`${tg.url}/metrics`)).text()), 10_000);
  t.equal((await pull(tg.url, 'hup')).reason, 'NOT_SIGNED', 'after SIGHUP the tag is verified again');
  t.equal((await pull(tg.url, 'hup-moving')).digest, w.m.single2.digest, 'the re-pointed tag serves its new digest');
  t.equal((await pull(tg.url, w.children[0] as string)).reason, 'DIGEST_NOT_SIGNED', 'and so is the child of the index');
});

t.test('write access to Redis does not get unsigned content served', async (t) => {
  const w = await world(t);
  const redis = await startRedis(dir.path);
  t.teardown(redis.stop);
  const INTERVAL = 1_000;
  const prefix = 'forge:';
  const tg = await startProcess(dir.path, w.spec({ redis: redis.url, trust: { refreshInterval: `${INTERVAL}ms` } }), prefix);
  t.teardown(tg.stop);
  await w.cli.sign(GUN, 'v1', w.m.single);
  await w.cli.sign(GUN, 'multi', w.m.multi);
  t.equal((await pull(tg.url, 'v1')).digest, w.m.single.digest);
  t.equal((await pull(tg.url, 'multi')).status, 200);
  const first = Date.now();

  // an attacker with write access to Redis: a tag answer pointing at unsigned content, the unsigned
  // digest listed as a child of the signed index, and forged bytes under a signed digest
  const r = new Redis(redis.url);
  t.teardown(() => r.quit());
  const now = Date.now();
  const forgedAnswer = { digest: w.m.unsigned.digest, length: w.m.unsigned.size, role: 'targets', signers: [], expires: now + 86_400_000, verifiedAt: now };
  for (const tag of ['v1', 'multi']) {
    await r.set(`${prefix}{${GUN}}:tag:${GUN}|targets/releases,targets|${tag}`, JSON.stringify(forgedAnswer), 'PX', 86_400_000);
  }
  await r.zadd(`${prefix}{${GUN}}:children`, String(now + 86_400_000), w.m.unsigned.digest);
  await r.zadd(`${prefix}{${GUN}}:parents:${w.m.unsigned.digest}`, String(now + 86_400_000), w.m.multi.digest);
  await r.hset(`${prefix}manifest:${w.m.single.digest}`, 'type', 'application/vnd.docker.distribution.manifest.v2+json', 'body', w.m.unsigned.body);

  await until(first, INTERVAL + 200);
  t.equal((await pull(tg.url, 'v1')).digest, w.m.single.digest, 'the tag still serves the signed digest');
  const body = await fetch(`${tg.url}/v2/${REPO}/manifests/v1`, { headers: accept }).then((x) => x.arrayBuffer());
  t.same(Buffer.from(body), w.m.single.body, 'with the signed bytes');
  t.same(await pull(tg.url, w.m.unsigned.digest), { status: 403, digest: null, reason: 'DIGEST_NOT_SIGNED' }, 'a forged child is refused');
});

t.test('what a replica verified is served while Notary and the store are both out, until it expires', async (t) => {
  const w = await world(t);
  const redis = await startRedis(dir.path);
  t.teardown(redis.stop);
  const forwarder = await startForwarder(dir.path, w.notaryPort);
  t.teardown(forwarder.stop);
  const INTERVAL = 1_000;
  const notaryUrl = `https://127.0.0.1:${forwarder.port}`;
  const tg = await startProcess(dir.path, w.spec({ redis: redis.url, trust: { refreshInterval: `${INTERVAL}ms` } }, notaryUrl), 'double:');
  t.teardown(tg.stop);
  await w.cli.sign(GUN, 'kept', w.m.single);
  t.equal((await pull(tg.url, 'kept')).status, 200);
  const first = Date.now();

  const r = new Redis(redis.url);
  await r.flushall();
  await r.quit();
  await forwarder.stop(); // Notary unreachable
  await until(first, INTERVAL + 200);
  const during = await pull(tg.url, 'kept');
  t.same({ status: during.status, digest: during.digest }, { status: 200, digest: w.m.single.digest }, 'served from what this replica verified');
  const other = await fetch(`${tg.url}/v2/library/other/manifests/v1`, { headers: accept });
  t.equal(other.status, 503, 'nothing new is trusted meanwhile');
});

// trustgate between real clients (skopeo, plain HTTP) and a real registry + notary-server, with the
// trust data signed by the real notary CLI. The same suite runs on the in-process cache and on Redis.

import { join } from 'node:path';
import t, { type Test } from 'tap';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { ALL_MANIFEST_TYPES, buildLayouts, manifestOf, push } from '../helpers/images.js';
import { NotaryCli, startNotaryServer } from '../helpers/notary.js';
import { startRedis, startRegistry } from '../helpers/peers.js';
import { run, tempDir } from '../helpers/process.js';
import { startInProcess, type RunningTrustgate, type TrustgateSpec } from '../helpers/trustgate.js';

const dir = tempDir('proxy-e2e');
t.teardown(dir.remove);
const REPO = 'library/demo';
const GUN = `docker.io/${REPO}`;

interface World {
  registryUrl: string;
  proxy: FaultProxy;
  notaryUrl: string;
  caPath: string;
  digests: Record<string, { digest: string; size: number; body: Buffer }>;
  spec: (extra?: Partial<TrustgateSpec>) => TrustgateSpec;
}

async function world(t: Test): Promise<World> {
  const registry = await startRegistry(dir.path);
  t.teardown(registry.stop);
  const reg = registry.url.replace('http://', '');
  const layouts = buildLayouts(join(dir.path, 'oci'));
  const extra = buildLayouts(join(dir.path, 'oci-extra'), ' (unsigned)');
  await push(layouts.single, 'v1', `${reg}/${REPO}:v1`, { format: 'v2s2' });
  await push(layouts.single, 'v1', `${reg}/${REPO}:v1-oci`);
  await push(layouts.single2, 'v2', `${reg}/${REPO}:v2`, { format: 'v2s2' });
  await push(layouts.multi, 'multi', `${reg}/${REPO}:multi`, { all: true });
  await push(layouts.multi, 'multi', `${reg}/${REPO}:multi-docker`, { all: true, format: 'v2s2' });
  await push(extra.single, 'v1', `${reg}/${REPO}:unsigned`, { format: 'v2s2' });
  await push(layouts.single, 'v1', `${reg}/${REPO}:other`, { format: 'v2s2' });
  const digests: World['digests'] = {};
  for (const tag of ['v1', 'v1-oci', 'v2', 'multi', 'multi-docker', 'unsigned']) digests[tag] = await manifestOf(registry.url, REPO, tag);

  const notary = await startNotaryServer({ dir: join(dir.path, 'notary') });
  t.teardown(notary.stop);
  const cli = new NotaryCli(join(dir.path, 'notary-cli'), notary);
  await cli.init(GUN);
  const sign = (tag: string, d: { digest: string; size: number }, role = 'targets') => cli.sign(GUN, tag, d, role);
  await sign('v1', digests.v1 as { digest: string; size: number });
  await cli.addDelegation(GUN, 'targets/releases');
  await sign('v2', digests.v2 as { digest: string; size: number }, 'targets/releases');
  await sign('multi', digests.multi as { digest: string; size: number }, 'targets/releases');
  await sign('multi-docker', digests['multi-docker'] as { digest: string; size: number });
  await sign('other', digests.v2 as { digest: string; size: number }); // the registry's `other` holds v1 content
  await sign('ghost', { digest: `sha256:${'ab'.repeat(32)}`, size: 100 });

  const proxy = new FaultProxy(registry.url);
  await proxy.start();
  t.teardown(() => proxy.stop());
  return {
    registryUrl: registry.url,
    proxy,
    notaryUrl: notary.url,
    caPath: notary.caPath,
    digests,
    spec: (extraSpec = {}) => ({
      upstreams: [{ name: 'docker.io', registry: proxy.url, notary: notary.url, ca: notary.caPath, default: true }],
      ...extraSpec,
    }),
  };
}

const skopeo = (...args: string[]) => run('skopeo', args, { timeoutMs: 120_000 });

async function clientSuite(t: Test, w: World, tg: RunningTrustgate, label: string) {
  const host = tg.url.replace('http://', '');
  const d = w.digests;

  await t.test(`${label}: skopeo inspect of a signed tag gets the signed digest`, async (t) => {
    const r = await skopeo('inspect', '--tls-verify=false', `docker://${host}/${REPO}:v1`);
    t.equal(r.code, 0, r.stderr);
    t.equal(JSON.parse(r.stdout).Digest, d.v1?.digest);
  });

  await t.test(`${label}: an unsigned tag is refused`, async (t) => {
    const r = await skopeo('inspect', '--tls-verify=false', `docker://${host}/${REPO}:unsigned`);
    t.not(r.code, 0);
    t.match(r.stderr, /denied.*not signed/);
  });

  await t.test(`${label}: a tag signed to other content serves the signed content`, async (t) => {
    const r = await skopeo('inspect', '--tls-verify=false', '--raw', `docker://${host}/${REPO}:other`);
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout, d.v2?.body.toString(), 'the bytes of the signed digest, not what the tag points at');
  });

  await t.test(`${label}: signed multi-arch images copy with --all (OCI index and Docker manifest list)`, async (t) => {
    for (const tag of ['multi', 'multi-docker']) {
      const out = join(dir.path, `copy-${label}-${tag}`);
      const r = await skopeo('copy', '--all', '--src-tls-verify=false', `docker://${host}/${REPO}:${tag}`, `oci:${out}:x`);
      t.equal(r.code, 0, r.stderr);
    }
  });

  await t.test(`${label}: a pull by an unsigned digest is refused; by a signed digest served`, async (t) => {
    const bad = await skopeo('inspect', '--tls-verify=false', '--raw', `docker://${host}/${REPO}@${d['v1-oci']?.digest}`);
    t.not(bad.code, 0);
    t.match(bad.stderr, /denied/);
    const good = await skopeo('inspect', '--tls-verify=false', '--raw', `docker://${host}/${REPO}@${d.v2?.digest}`);
    t.equal(good.code, 0, good.stderr);
  });

  await t.test(`${label}: HEAD and GET by tag carry the same verified headers`, async (t) => {
    const url = `${tg.url}/v2/${REPO}/manifests/v1`;
    const headers = new Headers();
    for (const a of ALL_MANIFEST_TYPES) headers.append('accept', a);
    const head = await fetch(url, { method: 'HEAD', headers });
    const get = await fetch(url, { headers });
    const body = Buffer.from(await get.arrayBuffer());
    for (const res of [head, get]) {
      t.equal(res.status, 200);
      t.equal(res.headers.get('docker-content-digest'), d.v1?.digest);
      t.equal(res.headers.get('content-length'), String(d.v1?.size));
      t.equal(res.headers.get('content-type'), 'application/vnd.docker.distribution.manifest.v2+json');
      t.equal(res.headers.get('etag'), `"${d.v1?.digest}"`);
      t.equal(res.headers.get('docker-distribution-api-version'), 'registry/2.0');
    }
    t.same(body, d.v1?.body);
  });

  await t.test(`${label}: refusals are registry error envelopes with a reason`, async (t) => {
    const r = await fetch(`${tg.url}/v2/${REPO}/manifests/unsigned`);
    t.equal(r.status, 403);
    const e = (await r.json()) as { errors: { code: string; message: string; detail: { reason: string } }[] };
    t.equal(e.errors[0]?.code, 'DENIED');
    t.equal(e.errors[0]?.detail.reason, 'NOT_SIGNED');
    const ghost = await fetch(`${tg.url}/v2/${REPO}/manifests/ghost`);
    t.equal(ghost.status, 404, 'signed but missing upstream');
    t.equal(((await ghost.json()) as { errors: { code: string }[] }).errors[0]?.code, 'MANIFEST_UNKNOWN');
  });

  await t.test(`${label}: tags/list shows only tags Docker would pull signed`, async (t) => {
    const r = await fetch(`${tg.url}/v2/${REPO}/tags/list`);
    t.same(((await r.json()) as { tags: string[] }).tags, ['multi', 'multi-docker', 'other', 'v1', 'v2']);
    const page = await fetch(`${tg.url}/v2/${REPO}/tags/list?n=2`);
    t.same(((await page.json()) as { tags: string[] }).tags, ['multi', 'multi-docker']);
    t.match(page.headers.get('link') ?? '', /last=multi-docker/);
  });

  await t.test(`${label}: blobs stream through, with Range`, async (t) => {
    const manifest = JSON.parse(d.v1?.body.toString() ?? '{}') as { layers: { digest: string; size: number }[] };
    const layer = manifest.layers[0] as { digest: string; size: number };
    const full = await fetch(`${tg.url}/v2/${REPO}/blobs/${layer.digest}`);
    t.equal(full.status, 200);
    t.equal(Buffer.from(await full.arrayBuffer()).length, layer.size);
    const part = await fetch(`${tg.url}/v2/${REPO}/blobs/${layer.digest}`, { headers: { range: 'bytes=0-9' } });
    t.equal(part.status, 206);
    t.equal(Buffer.from(await part.arrayBuffer()).length, 10);
    const missing = await fetch(`${tg.url}/v2/${REPO}/blobs/sha256:${'0'.repeat(64)}`);
    t.equal(missing.status, 404);
    t.equal(((await missing.json()) as { errors: { code: string }[] }).errors[0]?.code, 'BLOB_UNKNOWN');
  });

  await t.test(`${label}: pushes and other writes are refused`, async (t) => {
    for (const method of ['PUT', 'POST', 'DELETE', 'PATCH']) {
      const r = await fetch(`${tg.url}/v2/${REPO}/manifests/v1`, { method, body: method === 'DELETE' ? undefined : '{}' });
      t.equal(r.status, 405, method);
      t.equal(((await r.json()) as { errors: { code: string }[] }).errors[0]?.code, 'UNSUPPORTED');
    }
  });
}

t.test('the proxy against real peers', async (t) => {
  const w = await world(t);
  const redis = await startRedis(dir.path);
  t.teardown(redis.stop);

  for (const mode of ['memory', 'redis'] as const) {
    await t.test(`cache: ${mode}`, async (t) => {
      const tg = await startInProcess(dir.path, w.spec(mode === 'redis' ? { redis: redis.url } : {}));
      t.teardown(tg.stop);
      await clientSuite(t, w, tg, mode);
    });
  }

  await t.test('every Accept header a client sends reaches the upstream, and manifests are fetched by digest', async (t) => {
    const tg = await startInProcess(dir.path, w.spec());
    t.teardown(tg.stop);
    w.proxy.requests.length = 0;
    const headers = new Headers();
    const dockerd = [
      'application/json',
      'application/vnd.oci.image.manifest.v1+json',
      'application/vnd.docker.distribution.manifest.v2+json',
      'application/vnd.docker.distribution.manifest.list.v2+json',
      'application/vnd.oci.image.index.v1+json',
      'application/vnd.docker.distribution.manifest.v1+prettyjws',
    ];
    for (const a of dockerd) headers.append('accept', a);
    t.equal((await fetch(`${tg.url}/v2/${REPO}/manifests/multi`, { method: 'HEAD', headers })).status, 200);
    const upstream = w.proxy.requests.filter((r) => r.path.includes('/manifests/'));
    t.equal(upstream.length, 1);
    t.equal(upstream[0]?.path, `/v2/${REPO}/manifests/${w.digests.multi?.digest}`, 'fetched by the signed digest, never by tag');
    const sent = String(upstream[0]?.headers.accept).split(',').map((s) => s.trim());
    for (const a of dockerd) t.ok(sent.includes(a), `upstream got Accept ${a}`);
  });

  await t.test('an unknown ?ns= upstream is refused and reaches nothing', async (t) => {
    const tg = await startInProcess(dir.path, w.spec());
    t.teardown(tg.stop);
    w.proxy.requests.length = 0;
    const r = await fetch(`${tg.url}/v2/${REPO}/manifests/v1?ns=evil.example.com`);
    t.equal(r.status, 403);
    t.equal(((await r.json()) as { errors: { detail: { reason: string } }[] }).errors[0]?.detail.reason, 'UNKNOWN_UPSTREAM');
    t.equal(w.proxy.requests.length, 0);
    const ok = await fetch(`${tg.url}/v2/${REPO}/manifests/v1?ns=docker.io`, { headers: { accept: ALL_MANIFEST_TYPES.join(',') } });
    t.equal(ok.status, 200, 'containerd naming the configured upstream');
  });

  await t.test('an upstream that alters manifest bytes or lies about the digest is refused', async (t) => {
    const faults = [
      { kind: 'swap-manifest' as const, body: w.digests.v2?.body as Buffer },
      { kind: 'flip-manifest-byte' as const },
      { kind: 'lie-digest' as const, digest: w.digests.v2?.digest as string },
    ];
    for (const fault of faults) {
      await t.test(fault.kind, async (t) => {
        const tg = await startInProcess(dir.path, w.spec()); // empty cache: the manifest is fetched again
        t.teardown(tg.stop);
        w.proxy.inject(t, fault);
        const r = await fetch(`${tg.url}/v2/${REPO}/manifests/v1`);
        t.equal(r.status, 403, fault.kind);
        t.equal(((await r.json()) as { errors: { detail: { reason: string } }[] }).errors[0]?.detail.reason, 'DIGEST_MISMATCH');
        w.proxy.mode = { kind: 'pass' };
        t.equal((await fetch(`${tg.url}/v2/${REPO}/manifests/v1`)).status, 200, 'served again once the upstream is honest');
      });
    }
  });

  await t.test('a child of a signed index is served only once its parent verified', async (t) => {
    const tg = await startInProcess(dir.path, w.spec());
    t.teardown(tg.stop);
    const index = JSON.parse(w.digests.multi?.body.toString() ?? '{}') as { manifests: { digest: string }[] };
    const child = index.manifests[0]?.digest as string;
    t.equal((await fetch(`${tg.url}/v2/${REPO}/manifests/${child}`)).status, 403, 'unknown child refused');
    t.equal((await fetch(`${tg.url}/v2/${REPO}/manifests/multi`)).status, 200);
    t.equal((await fetch(`${tg.url}/v2/${REPO}/manifests/${child}`, { headers: { accept: ALL_MANIFEST_TYPES.join(',') } })).status, 200);
  });
});

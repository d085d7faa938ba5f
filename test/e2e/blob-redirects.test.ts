// Blob redirects through a `trustgate serve` process in front of a real registry and a man in the
// middle that redirects blobs: trustgate follows (stream) or hands out (redirect) a redirect into a
// loopback "internal service" only when the upstream lists that host in blobRedirectHosts — the
// address actually reached counts, not the name — caps redirect chains, and says why it refused.
// Blob answers carry nosniff and an inert Content-Type whatever the upstream claims.
// Only loopback is ever connected to: the other ranges are the classifier's unit tests.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { buildLayouts, push } from '../helpers/images.js';
import { startRegistry } from '../helpers/peers.js';
import { freePort, tempDir } from '../helpers/process.js';
import { startProcess, type UpstreamSpec } from '../helpers/trustgate.js';

const dir = tempDir('blob-redirects');
t.teardown(dir.remove);

type ErrorBody = { errors?: { code: string; detail: { reason: string } }[] };

t.test('blob redirects stay out of non-public ranges unless listed', async (t) => {
  const registry = await startRegistry(dir.path);
  t.teardown(registry.stop);
  const layouts = buildLayouts(join(dir.path, 'oci'));
  await push(layouts.single, 'v1', `${registry.url.replace('http://', '')}/library/demo:v1`, { format: 'v2s2' });
  const index = JSON.parse(readFileSync(join(layouts.single, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const manifest = JSON.parse(readFileSync(join(layouts.single, 'blobs', 'sha256', (index.manifests[0]?.digest ?? '').slice(7)), 'utf8')) as {
    layers: { digest: string; size: number }[];
  };
  const layer = manifest.layers[0] as { digest: string; size: number };

  // an "internal service" on loopback that would hand out the blob, as HTML
  let connections = 0;
  const internal = createServer((req, res) => {
    const hex = /sha256:([0-9a-f]{64})/.exec(req.url ?? '')?.[1] ?? 'none';
    res.writeHead(200, { 'content-type': 'text/html' }).end(readFileSync(join(layouts.single, 'blobs', 'sha256', hex)));
  });
  internal.on('connection', () => connections++);
  await new Promise<void>((r) => internal.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => internal.close(() => r())));
  const port = (internal.address() as AddressInfo).port;

  const mitm = new FaultProxy(registry.url);
  await mitm.start();
  t.teardown(() => mitm.stop());
  const notary = `http://127.0.0.1:${await freePort()}`; // blobs never ask Notary
  const start = async (extra: Partial<UpstreamSpec>) => {
    const tg = await startProcess(dir.path, { upstreams: [{ name: 'docker.io', registry: mitm.url, notary, default: true, ...extra }] });
    t.teardown(tg.stop);
    return tg;
  };
  const blob = (tg: { url: string }) => fetch(`${tg.url}/v2/library/demo/blobs/${layer.digest}`, { redirect: 'manual' });
  const reason = async (r: Response) => ((await r.json().catch(() => ({}))) as ErrorBody).errors?.[0]?.detail.reason;

  const streaming = await start({});
  const listed = await start({ blobRedirectHosts: [`127.0.0.1:${port}`] });
  const redirecting = await start({ blobs: 'redirect' });
  const redirectingListed = await start({ blobs: 'redirect', blobRedirectHosts: [`127.0.0.1:${port}`] });

  await t.test('the upstream itself is streamed, with nosniff and an inert Content-Type', async (t) => {
    const r = await blob(streaming);
    t.equal(r.status, 200);
    t.equal(r.headers.get('x-content-type-options'), 'nosniff');
    t.equal(r.headers.get('content-type'), 'application/octet-stream');
    t.equal(Buffer.from(await r.arrayBuffer()).length, layer.size);
  });

  for (const to of [`http://127.0.0.1:${port}`, `http://localhost:${port}`, `http://[::ffff:127.0.0.1]:${port}`]) {
    await t.test(`stream: a redirect to ${to}, not listed, is refused before connecting`, async (t) => {
      mitm.mode = { kind: 'redirect-blobs', to };
      t.teardown(() => (mitm.mode = { kind: 'pass' }));
      connections = 0;
      const r = await blob(streaming);
      t.equal(r.status, 503);
      t.equal(await reason(r), 'REDIRECT_REFUSED');
      t.equal(connections, 0, 'the internal service saw no connection');
    });
  }

  await t.test('stream: a listed host is followed, and its HTML is sent as bytes with nosniff', async (t) => {
    mitm.mode = { kind: 'redirect-blobs', to: `http://127.0.0.1:${port}` };
    t.teardown(() => (mitm.mode = { kind: 'pass' }));
    const r = await blob(listed);
    t.equal(r.status, 200);
    t.equal(Buffer.from(await r.arrayBuffer()).length, layer.size);
    t.equal(r.headers.get('content-type'), 'application/octet-stream');
    t.equal(r.headers.get('x-content-type-options'), 'nosniff');
    mitm.mode = { kind: 'redirect-blobs', to: `http://localhost:${port}` };
    const byName = await blob(listed);
    t.equal(byName.status, 503, 'the entry is exact: localhost is another host');
    t.equal(await reason(byName), 'REDIRECT_REFUSED');
  });

  await t.test('stream: a redirect chain is capped', async (t) => {
    mitm.mode = { kind: 'redirect-blobs', to: `${mitm.url}/again` }; // its own origin, a new URL each hop, forever
    t.teardown(() => (mitm.mode = { kind: 'pass' }));
    const r = await blob(streaming);
    t.equal(r.status, 503);
    t.equal(await reason(r), 'REDIRECT_REFUSED');
  });

  await t.test('redirect mode: no redirect into a non-public range unless listed', async (t) => {
    mitm.mode = { kind: 'redirect-blobs', to: `http://127.0.0.1:${port}` };
    t.teardown(() => (mitm.mode = { kind: 'pass' }));
    const refused = await blob(redirecting);
    t.equal(refused.status, 503);
    t.equal(await reason(refused), 'REDIRECT_REFUSED');
    t.equal(refused.headers.get('location'), null);
    const allowed = await blob(redirectingListed);
    t.equal(allowed.status, 307);
    t.equal(allowed.headers.get('location'), `http://127.0.0.1:${port}/v2/library/demo/blobs/${layer.digest}`);
    mitm.mode = { kind: 'pass' };
    const own = await blob(redirecting);
    t.equal(own.status, 307, 'without an upstream redirect: the upstream\'s own blob URL');
    t.equal(own.headers.get('location'), `${mitm.url}/v2/library/demo/blobs/${layer.digest}`);
  });
});

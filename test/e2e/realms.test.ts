// `allowedRealms` in a `trustgate serve` process: a registry behind token auth whose challenge names
// a realm that merely starts with an allowed entry — another host after userinfo
// (`https://auth.example.org@evil.net/`), a longer host (`https://auth.example.org.evil.net/`), a
// path beside the allowed one — gets no request and no credentials; the pull fails as AUTH_FAILED.
// Loopback stands in for the domains: 127.0.0.10 extends "127.0.0.1" as evil.net extends a name.

import { join } from 'node:path';
import t from 'tap';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { ALL_MANIFEST_TYPES, buildLayouts, manifestOf, push } from '../helpers/images.js';
import { NotaryCli, startNotaryServer } from '../helpers/notary.js';
import { startRegistry } from '../helpers/peers.js';
import { tempDir } from '../helpers/process.js';
import { TokenIssuer } from '../helpers/token-issuer.js';
import { startProcess } from '../helpers/trustgate.js';

const dir = tempDir('realms');
t.teardown(dir.remove);
const USER = 'alice';
const PASS = 'realm-pass';

t.test('token realms are matched as parsed origins and path segments', async (t) => {
  const issuer = new TokenIssuer({ [USER]: PASS });
  await issuer.start();
  t.teardown(() => issuer.stop());
  const evil = new TokenIssuer({}); // another service on the same address
  await evil.start();
  t.teardown(() => evil.stop());
  const longer = new TokenIssuer({}, '127.0.0.10'); // an address that extends the allowed one
  await longer.start();
  t.teardown(() => longer.stop());

  const registry = await startRegistry(dir.path, {
    auth: { token: { realm: issuer.realm, service: 'registry.test', issuer: issuer.issuer, rootcertbundle: issuer.writeBundle(join(dir.path, 'bundle.pem')) } },
  });
  t.teardown(registry.stop);
  const layouts = buildLayouts(join(dir.path, 'oci'));
  await push(layouts.single, 'v1', `${registry.url.replace('http://', '')}/library/demo:v1`, { format: 'v2s2', creds: `${USER}:${PASS}` });
  const token = ((await (await fetch(`${issuer.realm}?service=registry.test&scope=repository:library/demo:pull`, {
    headers: { authorization: `Basic ${Buffer.from(`${USER}:${PASS}`).toString('base64')}` },
  })).json()) as { token: string }).token;
  const v1 = await manifestOf(registry.url, 'library/demo', 'v1', `Bearer ${token}`);
  const notary = await startNotaryServer({ dir: join(dir.path, 'notary'), tls: false });
  t.teardown(notary.stop);
  const cli = new NotaryCli(join(dir.path, 'cli'), notary);
  await cli.init('docker.io/library/demo');
  await cli.sign('docker.io/library/demo', 'v1', v1);

  const mitm = new FaultProxy(registry.url);
  await mitm.start();
  t.teardown(() => mitm.stop());

  const cases: { name: string; allowed: string; realm: string; ok: boolean; recorder: TokenIssuer; path?: string }[] = [
    { name: 'the allowed realm itself', allowed: `${issuer.url}/`, realm: issuer.realm, ok: true, recorder: issuer },
    { name: 'another host after userinfo', allowed: issuer.url, realm: `${issuer.url}@${evil.url.slice('http://'.length)}/token`, ok: false, recorder: evil },
    { name: 'a host the allowed one is a prefix of', allowed: 'http://127.0.0.1', realm: longer.realm, ok: false, recorder: longer },
    { name: 'a path beside the allowed one', allowed: `${issuer.url}/tok`, realm: `${issuer.url}/token`, ok: false, recorder: issuer, path: '/token' },
  ];
  for (const c of cases) {
    await t.test(c.name, async (t) => {
      mitm.mode = { kind: 'rewrite-realm', realm: c.realm };
      t.teardown(() => (mitm.mode = { kind: 'pass' }));
      const tg = await startProcess(dir.path, {
        upstreams: [{ name: 'docker.io', registry: mitm.url, notary: notary.url, default: true, usernameEnv: 'TG_USER', passwordEnv: 'TG_PASS', allowedRealms: [c.allowed] }],
        env: { TG_USER: USER, TG_PASS: PASS },
      });
      t.teardown(tg.stop);
      c.recorder.requests.length = 0;
      const r = await fetch(`${tg.url}/v2/library/demo/manifests/v1`, { headers: { accept: ALL_MANIFEST_TYPES.join(',') } });
      if (c.ok) {
        t.equal(r.status, 200);
        t.ok(issuer.requests.some((q) => q.authorization !== undefined), 'the allowed realm got the credentials');
        return;
      }
      t.equal(r.status, 503);
      t.equal(((await r.json()) as { errors?: { detail: { reason: string } }[] }).errors?.[0]?.detail.reason, 'AUTH_FAILED');
      const reached = c.recorder.requests.filter((q) => c.path === undefined || new URL(q.path, 'http://x').pathname === c.path);
      t.equal(reached.length, 0, 'the realm got no request and no credentials');
    });
  }
});

// Upstream authentication for real: a registry behind htpasswd basic auth, a registry and a
// notary-server behind token auth with a token issuer of the harness. Pulls work with the configured
// credentials, fail cleanly without, and credentials go nowhere else.

import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import t from 'tap';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { ALL_MANIFEST_TYPES, buildLayouts, manifestOf, push } from '../helpers/images.js';
import { NotaryCli, startNotaryServer } from '../helpers/notary.js';
import { startRegistry } from '../helpers/peers.js';
import { run, tempDir } from '../helpers/process.js';
import { TokenIssuer } from '../helpers/token-issuer.js';
import { startInProcess, type TrustgateSpec, type UpstreamSpec } from '../helpers/trustgate.js';

const dir = tempDir('auth-e2e');
t.teardown(dir.remove);
const USER = 'alice';
const PASS = 's3cret-pass';
const basic = `Basic ${Buffer.from(`${USER}:${PASS}`).toString('base64')}`;
const CREDS = { TG_USER: USER, TG_PASS: PASS };

t.test('upstream authentication against real servers', async (t) => {
  const issuer = new TokenIssuer({ [USER]: PASS });
  await issuer.start();
  t.teardown(() => issuer.stop());
  const bundle = issuer.writeBundle(join(dir.path, 'token-bundle.pem'));

  const htpasswd = join(dir.path, 'htpasswd');
  writeFileSync(htpasswd, `${USER}:${bcrypt.hashSync(PASS, 10)}\n`);
  const basicRegistry = await startRegistry(dir.path, { auth: { htpasswd: { realm: 'basic-realm', path: htpasswd } } });
  t.teardown(basicRegistry.stop);
  const tokenRegistry = await startRegistry(dir.path, {
    auth: { token: { realm: issuer.realm, service: 'registry.test', issuer: issuer.issuer, rootcertbundle: bundle } },
  });
  t.teardown(tokenRegistry.stop);
  const notary = await startNotaryServer({
    dir: join(dir.path, 'notary'),
    extra: { auth: { type: 'token', options: { realm: issuer.realm, service: 'notary.test', issuer: issuer.issuer, rootcertbundle: bundle } } },
  });
  t.teardown(notary.stop);

  const layouts = buildLayouts(join(dir.path, 'oci'));
  const cli = new NotaryCli(join(dir.path, 'cli'), notary, { NOTARY_AUTH: Buffer.from(`${USER}:${PASS}`).toString('base64') });
  const hosts = { basic: 'registry-basic.test', token: 'registry-token.test' };
  const signed: Record<string, string> = {};
  for (const [kind, reg] of [
    ['basic', basicRegistry],
    ['token', tokenRegistry],
  ] as const) {
    const target = reg.url.replace('http://', '');
    await push(layouts.single, 'v1', `${target}/library/demo:v1`, { format: 'v2s2', creds: `${USER}:${PASS}` });
    await push(layouts.single2, 'v2', `${target}/library/demo:unsigned`, { format: 'v2s2', creds: `${USER}:${PASS}` });
    const authz = kind === 'basic' ? basic : undefined;
    const m = kind === 'basic' ? await manifestOf(reg.url, 'library/demo', 'v1', authz) : undefined;
    const gun = `${hosts[kind]}/library/demo`;
    await cli.init(gun);
    const d = m ?? (await manifestOfWithToken(reg.url, issuer));
    await cli.sign(gun, 'v1', d);
    signed[kind] = d.digest;
  }

  // the token registry sits behind a recording proxy; blobs can be redirected to a "CDN"
  const tokenProxy = new FaultProxy(tokenRegistry.url);
  await tokenProxy.start();
  t.teardown(() => tokenProxy.stop());
  const basicProxy = new FaultProxy(basicRegistry.url);
  await basicProxy.start();
  t.teardown(() => basicProxy.stop());
  const cdnRequests: { authorization: string | undefined }[] = [];
  const cdn = createServer((req, res) => {
    cdnRequests.push({ authorization: req.headers.authorization });
    const digest = /sha256:([0-9a-f]{64})/.exec(req.url ?? '')?.[1];
    try {
      res.writeHead(200).end(readFileSync(join(layouts.single, 'blobs', 'sha256', digest ?? 'none')));
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => cdn.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => cdn.close(() => r())));
  const cdnUrl = `http://127.0.0.1:${(cdn.address() as AddressInfo).port}`;

  const upstream = (kind: 'basic' | 'token', extra: Partial<UpstreamSpec> = {}): UpstreamSpec => ({
    name: hosts[kind],
    registry: kind === 'basic' ? basicProxy.url : tokenProxy.url,
    notary: notary.url,
    ca: notary.caPath,
    usernameEnv: 'TG_USER',
    passwordEnv: 'TG_PASS',
    allowedRealms: [`${issuer.url}/`],
    ...extra,
  });
  const spec = (over: Partial<TrustgateSpec> = {}): TrustgateSpec => ({
    upstreams: [upstream('basic', { default: true }), upstream('token')],
    env: CREDS,
    ...over,
  });
  const accept = { accept: ALL_MANIFEST_TYPES.join(',') };

  await t.test('signed pulls work through basic and token auth; credentials go only where they belong', async (t) => {
    const tg = await startInProcess(dir.path, spec());
    t.teardown(tg.stop);
    issuer.requests.length = 0;
    for (const path of ['library/demo', `${hosts.token}/library/demo`]) {
      for (let i = 0; i < 3; i++) {
        const r = await fetch(`${tg.url}/v2/${path}/manifests/v1`, { headers: accept });
        t.equal(r.status, 200, `${path} try ${i}`);
      }
    }
    const skopeo = await run('skopeo', ['inspect', '--tls-verify=false', `docker://${tg.url.replace('http://', '')}/${hosts.token}/library/demo:v1`]);
    t.equal(skopeo.code, 0, skopeo.stderr);
    t.equal(JSON.parse(skopeo.stdout).Digest, signed.token);
    t.ok(issuer.requests.length > 0 && issuer.requests.every((r) => r.authorization === basic), 'the token issuer got the credentials');
    const scopes = issuer.requests.map((r) => new URL(r.path, 'http://x').searchParams.get('scope'));
    t.equal(scopes.filter((s) => s === 'repository:library/demo:pull').length, 1, 'one registry token, cached across pulls');
    t.ok(tokenProxy.requests.every((r) => r.headers.authorization === undefined || r.headers.authorization.startsWith('Bearer ')), 'the token registry never saw the password');
    t.ok(basicProxy.requests.some((r) => r.headers.authorization === basic), 'the basic registry got basic credentials');
    const unsigned = await fetch(`${tg.url}/v2/${hosts.token}/library/demo/manifests/unsigned`);
    t.equal(unsigned.status, 403, 'still only signed tags');
  });

  await t.test('without credentials a pull fails cleanly', async (t) => {
    const noCreds = spec({ upstreams: [upstream('basic', { default: true, usernameEnv: undefined, passwordEnv: undefined })], env: {} });
    const tg = await startInProcess(dir.path, noCreds);
    t.teardown(tg.stop);
    const r = await fetch(`${tg.url}/v2/library/demo/manifests/v1`, { headers: accept });
    t.equal(r.status, 503);
    const e = (await r.json()) as { errors: { code: string; detail: { reason: string } }[] };
    t.equal(e.errors[0]?.code, 'UNAVAILABLE');
    t.equal(e.errors[0]?.detail.reason, 'AUTH_FAILED');
  });

  await t.test('a token realm on another host is not followed unless allowed', async (t) => {
    const tg = await startInProcess(dir.path, spec({ upstreams: [upstream('token', { default: true, allowedRealms: [] })] }));
    t.teardown(tg.stop);
    issuer.requests.length = 0;
    const r = await fetch(`${tg.url}/v2/library/demo/manifests/v1`, { headers: accept });
    t.equal(r.status, 503);
    t.equal(((await r.json()) as { errors: { detail: { reason: string } }[] }).errors[0]?.detail.reason, 'AUTH_FAILED');
    t.equal(issuer.requests.length, 0, 'nothing was sent to the realm');
  });

  await t.test('a blob redirect to another host is followed without the Authorization header', async (t) => {
    // the "CDN" is on loopback: only a host the upstream lists is followed there
    const cdnHost = new URL(cdnUrl).host;
    const tg = await startInProcess(dir.path, spec({ upstreams: [upstream('basic', { default: true }), upstream('token', { blobRedirectHosts: [cdnHost] })] }));
    t.teardown(tg.stop);
    const manifest = JSON.parse(readFileSync(join(layouts.single, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const image = JSON.parse(readFileSync(join(layouts.single, 'blobs', 'sha256', (manifest.manifests[0]?.digest ?? '').slice(7)), 'utf8')) as {
      layers: { digest: string; size: number }[];
    };
    const layer = image.layers[0] as { digest: string; size: number };
    tokenProxy.mode = { kind: 'redirect-blobs', to: cdnUrl };
    t.teardown(() => {
      tokenProxy.mode = { kind: 'pass' };
    });
    cdnRequests.length = 0;
    const r = await fetch(`${tg.url}/v2/${hosts.token}/library/demo/blobs/${layer.digest}`);
    t.equal(r.status, 200);
    t.equal(Buffer.from(await r.arrayBuffer()).length, layer.size);
    t.equal(cdnRequests.length, 1, 'the redirect was followed server-side');
    t.equal(cdnRequests[0]?.authorization, undefined, 'no Authorization crossed to the other host');

    const redirecting = await startInProcess(dir.path, spec({ upstreams: [upstream('token', { default: true, blobs: 'redirect', blobRedirectHosts: [cdnHost] })] }));
    t.teardown(redirecting.stop);
    cdnRequests.length = 0;
    const red = await fetch(`${redirecting.url}/v2/library/demo/blobs/${layer.digest}`, { redirect: 'manual' });
    t.equal(red.status, 307, 'redirect mode answers with a redirect');
    t.equal(red.headers.get('location'), `${cdnUrl}/v2/library/demo/blobs/${layer.digest}`, "to where the upstream itself redirects");
    t.equal(cdnRequests.length, 0, 'the bytes never crossed trustgate');
  });
});

/** The manifest digest of library/demo:v1 on a token-auth registry (the harness fetches a token first). */
async function manifestOfWithToken(registry: string, issuer: TokenIssuer) {
  const res = await fetch(`${issuer.realm}?service=registry.test&scope=repository:library/demo:pull`, { headers: { authorization: basic } });
  const { token } = (await res.json()) as { token: string };
  return manifestOf(registry, 'library/demo', 'v1', `Bearer ${token}`);
}

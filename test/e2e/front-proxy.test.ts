// The front-proxy recipe (deploy/nginx/trustgate-front.conf) with the real nginx in front of a real
// trustgate, registry and notary-server: skopeo and plain HTTP pull the signed tag through it with
// every blob answered by the registry itself, the unsigned tag is refused by trustgate, and
// everything that is not a plain blob read of an admitted repository — a denied repository, another
// upstream, other methods, encoded or dot-segment paths — reaches trustgate exactly as sent.
// trustgate's client authentication gates the direct blobs too; against a registry that wants
// credentials the front holds none and passes on none: trustgate streams those blobs with its own.

import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import t, { type Test } from 'tap';
import { startFront, NAME_COMPONENT, type Front, type LoggedRequest } from '../helpers/front.js';
import { ALL_MANIFEST_TYPES, buildLayouts, manifestOf, push } from '../helpers/images.js';
import { NotaryCli, startNotaryServer, type NotaryServer } from '../helpers/notary.js';
import { startRegistry, type Peer } from '../helpers/peers.js';
import { run, tempDir, waitFor } from '../helpers/process.js';
import { startProcess, type RunningTrustgate } from '../helpers/trustgate.js';

const dir = tempDir('front');
const stops: (() => Promise<void>)[] = [];
t.teardown(async () => {
  for (const stop of stops.reverse()) await stop();
  dir.remove();
});

const ACCEPT = { accept: ALL_MANIFEST_TYPES.join(', ') };
/** Admitted repositories of the default upstream, except the one the policy denies. */
const DIRECT = `(?!library/denied/)library/${NAME_COMPONENT}`;
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

interface Site {
  registry: Peer;
  tg: RunningTrustgate;
  front: Front;
  signed: { digest: string; body: Buffer };
  /** The config and layer digests of the signed image. */
  blobs: string[];
}

let notary: NotaryServer;
let cli: NotaryCli;
let site: Site;

t.before(async () => {
  notary = await startNotaryServer({ dir: join(dir.path, 'notary') });
  stops.push(notary.stop);
  cli = new NotaryCli(join(dir.path, 'cli'), notary);
  const registry = await startRegistry(dir.path);
  stops.push(registry.stop);
  const host = registry.url.replace('http://', '');
  const layouts = buildLayouts(join(dir.path, 'oci'));
  await push(layouts.single, 'v1', `${host}/library/demo:signed`, { format: 'v2s2' });
  await push(layouts.single2, 'v2', `${host}/library/demo:unsigned`, { format: 'v2s2' });
  await push(layouts.single, 'v1', `${host}/library/denied:signed`, { format: 'v2s2' });
  const signed = await manifestOf(registry.url, 'library/demo', 'signed');
  for (const gun of ['docker.io/library/demo', 'docker.io/library/denied']) {
    await cli.init(gun);
    await cli.sign(gun, 'signed', signed);
  }
  const tg = await startProcess(dir.path, {
    upstreams: [{ name: 'docker.io', registry: registry.url, notary: notary.url, ca: notary.caPath, default: true }],
    policy: [
      { match: 'docker.io/library/denied', action: 'deny' },
      { match: '*', action: 'verify' },
    ],
  });
  stops.push(tg.stop);
  const front = await startFront(join(dir.path, 'front'), { trustgate: `127.0.0.1:${tg.port}`, registry: registry.url, upstreamName: 'docker.io', directRepositories: DIRECT });
  stops.push(front.stop);
  site = { registry, tg, front, signed, blobs: blobsOf(signed.body) };
});

function blobsOf(manifest: Buffer): string[] {
  const m = JSON.parse(manifest.toString('utf8')) as { config: { digest: string }; layers: { digest: string }[] };
  return [m.config.digest, ...m.layers.map((l) => l.digest)];
}

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const hostOf = (url: string) => url.replace('http://', '');
const addr = (p: { port: number }) => `127.0.0.1:${p.port}`;

/** The access log entry of the last request whose request line starts with `line`; waits for nginx to write it. */
/** The newest access log entry for `line`, among those after the first `since` (nginx writes an entry after it answered). */
async function logged(front: Front, line: string, since = 0): Promise<LoggedRequest> {
  let found: LoggedRequest | undefined;
  const match = (e: LoggedRequest) => e.request.startsWith(`${line} HTTP/`);
  await waitFor(`the access log entry for ${line}`, async () => Boolean((found = front.log().slice(since).findLast(match))), 10_000);
  return found as LoggedRequest;
}

/** A request sent byte for byte as written (no client-side URL normalisation). */
function rawGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString('latin1')));
    s.on('error', reject);
    s.on('end', () => resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1]), body: text.slice(text.indexOf('\r\n\r\n') + 4) }));
  });
}

async function registryError(res: Response): Promise<{ code?: string; reason?: string }> {
  const body = (await res.json()) as { errors: { code: string; detail?: { reason?: string } }[] };
  return { code: body.errors[0]?.code, reason: body.errors[0]?.detail?.reason };
}

t.test('skopeo pulls the signed tag through the front: manifest from trustgate, blobs from the registry', async (t) => {
  const out = join(dir.path, 'pulled');
  const copy = await run('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${hostOf(site.front.url)}/library/demo:signed`, `dir:${out}`], { timeoutMs: 120_000 });
  t.equal(copy.code, 0, copy.stderr);
  t.equal(sha256(readFileSync(join(out, 'manifest.json'))), site.signed.digest, 'the signed manifest, byte for byte');
  t.same((await logged(site.front, 'GET /v2/library/demo/manifests/signed')).upstreams, [addr(site.tg)], 'the manifest came from trustgate');
  for (const blob of site.blobs) {
    t.equal(sha256(readFileSync(join(out, blob.slice('sha256:'.length)))), blob, `blob ${blob} copied intact`);
    const e = await logged(site.front, `GET /v2/library/demo/blobs/${blob}`);
    t.same([e.route, e.upstreams, e.status], ['registry', [addr(site.registry)], 200], 'answered by the registry itself');
  }
});

t.test('the unsigned tag is refused through the front (skopeo and plain HTTP)', async (t) => {
  const inspect = await run('skopeo', ['inspect', '--tls-verify=false', `docker://${hostOf(site.front.url)}/library/demo:unsigned`]);
  t.not(inspect.code, 0, 'skopeo gets no manifest');
  const res = await fetch(`${site.front.url}/v2/library/demo/manifests/unsigned`, { headers: ACCEPT });
  t.equal(res.status, 403);
  t.same(await registryError(res), { code: 'DENIED', reason: 'NOT_SIGNED' });
  t.same((await logged(site.front, 'GET /v2/library/demo/manifests/unsigned')).upstreams, [addr(site.tg)], 'refused by trustgate');
});

t.test('plain HTTP: blob GET and HEAD go straight to the registry, with or without ?ns=<this upstream>', async (t) => {
  const layer = site.blobs[1] as string;
  for (const query of ['', '?ns=docker.io']) {
    const path = `/v2/library/demo/blobs/${layer}${query}`;
    const get = await fetch(site.front.url + path);
    t.equal(get.status, 200);
    t.equal(sha256(Buffer.from(await get.arrayBuffer())), layer, `GET ${query || 'without a query'}: the blob's bytes`);
    t.same((await logged(site.front, `GET ${path}`)).upstreams, [addr(site.registry)]);
    const head = await fetch(site.front.url + path, { method: 'HEAD' });
    t.equal(head.status, 200);
    t.equal(head.headers.get('docker-content-digest'), layer);
    t.same((await logged(site.front, `HEAD ${path}`)).upstreams, [addr(site.registry)]);
  }
});

t.test('what is not a plain blob read of an admitted repository reaches trustgate, as sent', async (t) => {
  const layer = site.blobs[1] as string;
  t.equal((await fetch(`${site.registry.url}/v2/library/denied/blobs/${layer}`)).status, 200, 'the registry itself would serve the denied repository');
  const cases: [string, string, RequestInit, number, { code: string; reason?: string }][] = [
    ['a policy-denied repository', `/v2/library/denied/blobs/${layer}`, {}, 403, { code: 'DENIED', reason: 'POLICY_DENIED' }],
    ['another upstream (?ns=)', `/v2/library/demo/blobs/${layer}?ns=ghcr.io`, {}, 403, { code: 'DENIED', reason: 'UNKNOWN_UPSTREAM' }],
    ['a percent-encoded repository name', `/v2/library%2Fdemo/blobs/${layer}`, {}, 400, { code: 'NAME_INVALID' }],
    ['a percent-encoded manifest path (decoded, trustgate would serve it)', '/v2/library%2Fdemo/manifests/signed', { headers: ACCEPT }, 400, { code: 'NAME_INVALID' }],
    ['a DELETE of a blob', `/v2/library/demo/blobs/${layer}`, { method: 'DELETE' }, 405, { code: 'UNSUPPORTED' }],
  ];
  for (const [what, path, init, status, error] of cases) {
    const res = await fetch(site.front.url + path, init);
    t.equal(res.status, status, what);
    t.match(await registryError(res), error, `${what}: trustgate's answer`);
    t.same((await logged(site.front, `${init.method ?? 'GET'} ${path}`)).upstreams, [addr(site.tg)], `${what}: sent to trustgate`);
  }
  t.equal((await fetch(`${site.registry.url}/v2/library/demo/blobs/${layer}`, { method: 'HEAD' })).status, 200, 'the DELETE reached no registry');

  for (const path of [`/v2/library/x/../demo/blobs/${layer}`, `/v2/library/./demo/blobs/${layer}`]) {
    const res = await rawGet(site.front.port, path);
    t.equal(res.status, 400, `${path}: refused`);
    t.match(JSON.parse(res.body.slice(res.body.indexOf('{'), res.body.lastIndexOf('}') + 1)), { errors: [{ code: 'NAME_INVALID' }] }, 'by trustgate');
    t.same((await logged(site.front, `GET ${path}`)).upstreams, [addr(site.tg)], 'sent on without normalising the path');
  }
});

t.test('/v2/, /healthz and the Notary read API are trustgate\'s', async (t) => {
  const v2 = await fetch(`${site.front.url}/v2/`);
  t.equal(v2.status, 200);
  t.equal(v2.headers.get('docker-distribution-api-version'), 'registry/2.0');
  t.equal((await fetch(`${site.front.url}/healthz`)).status, 200);
  const root = await fetch(`${site.front.url}/v2/docker.io/library/demo/_trust/tuf/root.json`);
  t.equal(root.status, 200, 'the trust data trustgate verified');
  for (const line of ['GET /v2/', 'GET /healthz', 'GET /v2/docker.io/library/demo/_trust/tuf/root.json']) {
    t.same((await logged(site.front, line)).upstreams, [addr(site.tg)], line);
  }
});

t.test("trustgate's client authentication gates blobs through the front too", async (t) => {
  const users = join(dir.path, 'clients-htpasswd');
  writeFileSync(users, `alice:${bcrypt.hashSync('alice-pw', 10)}\n`);
  const { tg, front } = await trustgateAndFront(t, 'front-auth', site.registry, { auth: { realm: 'trustgate front', htpasswd: users } });
  const layer = site.blobs[1] as string;
  const path = `/v2/library/demo/blobs/${layer}`;

  const anonymous = await fetch(front.url + path);
  t.equal(anonymous.status, 401, 'no client credentials: no blob, though the registry serves anyone');
  t.equal(anonymous.headers.get('www-authenticate'), 'Basic realm="trustgate front"', "trustgate's challenge, once");
  t.equal((await registryError(anonymous)).code, 'UNAUTHORIZED');
  t.same((await logged(front, `GET ${path}`)).upstreams, [addr(tg)], 'answered by trustgate');

  const before = front.log().length; // the same path again: only an entry written after this one counts
  const res = await fetch(front.url + path, { headers: { authorization: basic('alice', 'alice-pw') } });
  t.equal(res.status, 200);
  t.equal(sha256(Buffer.from(await res.arrayBuffer())), layer);
  t.same((await logged(front, `GET ${path}`, before)).upstreams, [addr(site.registry)], 'with credentials: straight from the registry');
});

t.test('a registry that wants credentials: the front sends none, trustgate streams with its own', async (t) => {
  const users = join(dir.path, 'registry-htpasswd');
  writeFileSync(users, `reg:${bcrypt.hashSync('reg-pw', 10)}\n`);
  const registry = await startRegistry(dir.path, { auth: { htpasswd: { realm: 'registry', path: users } } });
  t.teardown(registry.stop);
  await push(buildLayouts(join(dir.path, 'oci')).single, 'v1', `${hostOf(registry.url)}/library/demo:signed`, { format: 'v2s2', creds: 'reg:reg-pw' });
  // clients log in to trustgate with the same credentials the registry takes (one directory of users)
  const { tg, front } = await trustgateAndFront(t, 'front-private', registry, {
    upstreamCredentials: { REG_USER: 'reg', REG_PASS: 'reg-pw' },
    auth: { realm: 'trustgate front', htpasswd: users },
  });
  const layer = site.blobs[1] as string;
  const path = `/v2/library/demo/blobs/${layer}`;
  t.equal((await fetch(registry.url + path, { headers: { authorization: basic('reg', 'reg-pw') } })).status, 200, 'the registry serves the blob with its credentials');

  // the client's credentials would open the registry: the front must not pass them on, so the
  // registry refuses the front and trustgate streams the blob with its own credentials
  const res = await fetch(front.url + path, { headers: { authorization: basic('reg', 'reg-pw') } });
  t.equal(res.status, 200);
  t.equal(sha256(Buffer.from(await res.arrayBuffer())), layer, "the blob's bytes");
  const e = await logged(front, `GET ${path}`);
  t.same([e.route, e.upstreams], ['registry', [addr(registry), addr(tg)]], 'the registry refused the front, trustgate served');

  const copy = await run('skopeo', ['copy', '-q', '--src-tls-verify=false', '--src-creds', 'reg:reg-pw', `docker://${hostOf(front.url)}/library/demo:signed`, `dir:${join(dir.path, 'private-pulled')}`], { timeoutMs: 120_000 });
  t.equal(copy.code, 0, `skopeo pulls the signed tag: ${copy.stderr}`);
});

/** trustgate (verify everything) in front of `registry`, and a front in front of both. */
async function trustgateAndFront(
  t: Test,
  name: string,
  registry: Peer,
  o: { auth: Record<string, unknown>; upstreamCredentials?: Record<string, string> },
): Promise<{ tg: RunningTrustgate; front: Front }> {
  const credentials = o.upstreamCredentials ? { usernameEnv: 'REG_USER', passwordEnv: 'REG_PASS' } : {};
  const tg = await startProcess(dir.path, {
    upstreams: [{ name: 'docker.io', registry: registry.url, notary: notary.url, ca: notary.caPath, default: true, ...credentials }],
    auth: o.auth,
    ...(o.upstreamCredentials ? { env: o.upstreamCredentials } : {}),
  });
  t.teardown(tg.stop);
  const front = await startFront(join(dir.path, name), { trustgate: `127.0.0.1:${tg.port}`, registry: registry.url, upstreamName: 'docker.io', directRepositories: DIRECT });
  t.teardown(front.stop);
  return { tg, front };
}

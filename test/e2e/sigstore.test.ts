// Sigstore through the proxy, end to end: a real registry and notary-server, images signed by the real
// signers (Debian 13's skopeo in cosign's tag layout; the notary CLI), trustgate in front with Sigstore-
// only, Notary-only, `any` and `all` repositories side by side, and real clients: skopeo pulling through
// it, skopeo's `sigstoreSigned` policy verifying the signatures it passes through, and dockerd using it
// as its registry mirror.

import { join } from 'node:path';
import t from 'tap';
import { startDockerd } from '../helpers/dockerd.js';
import { buildLayouts, manifestOf, push } from '../helpers/images.js';
import { NotaryCli, startNotaryServer } from '../helpers/notary.js';
import { startRegistry } from '../helpers/peers.js';
import { run, tempDir } from '../helpers/process.js';
import { makeCosignKey, putManifest, signImage, skopeoAccepts } from '../helpers/sigstore.js';
import { startInProcess } from '../helpers/trustgate.js';

const dir = tempDir('sigstore-e2e');
t.teardown(dir.remove);
const registry = await startRegistry(dir.path);
t.teardown(registry.stop);
const HOST = registry.url.replace('http://', '');
const key = await makeCosignKey(join(dir.path, 'keys'), 'cosign');
const skopeoDir = join(dir.path, 'skopeo');
const notary = await startNotaryServer({ dir: join(dir.path, 'notary') });
t.teardown(notary.stop);
const cli = new NotaryCli(join(dir.path, 'notary-cli'), notary);

let salt = 0;
const initialised = new Set<string>();
/** Push a fresh image to `repo:tag`, sign it with Sigstore and/or Notary, return its manifest. */
async function image(repo: string, o: { sigstore?: boolean; notary?: boolean; tag?: string; multi?: boolean } = {}) {
  const tag = o.tag ?? 'v1';
  const l = buildLayouts(join(dir.path, `oci-${salt}`), ` ${salt++}`);
  await push(o.multi ? l.multi : l.single, o.multi ? 'multi' : 'v1', `${HOST}/${repo}:${tag}`, o.multi ? { all: true } : {});
  const m = await manifestOf(registry.url, repo, tag);
  if (o.sigstore) await signImage(skopeoDir, HOST, `${repo}:${tag}`, key, { identity: `docker.io/${repo}:${tag}`, all: o.multi === true });
  if (o.notary) {
    const gun = `docker.io/${repo}`;
    if (!initialised.has(gun)) await cli.init(gun);
    initialised.add(gun);
    await cli.sign(gun, tag, m);
  }
  return m;
}

const sig = { keys: [key.pub] };
const tg = await startInProcess(dir.path, {
  upstreams: [{ name: 'docker.io', registry: registry.url, notary: notary.url, ca: notary.caPath, default: true }],
  policy: [
    { match: 'docker.io/sig/*', action: 'verify', trust: 'sigstore', sigstore: sig },
    { match: 'docker.io/any/*', action: 'verify', trust: 'any', sigstore: sig },
    { match: 'docker.io/all/*', action: 'verify', trust: 'all', sigstore: sig },
    { match: '*', action: 'verify' },
  ],
  trust: { refreshInterval: '0s' },
});
t.teardown(tg.stop);
const TG = tg.url.replace('http://', '');

const ACCEPT = 'application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json';
/** The digest served, or the refusal reason — for GET and HEAD alike (HEAD parity). */
async function pull(repo: string, ref = 'v1'): Promise<string> {
  const url = `${tg.url}/v2/${repo}/manifests/${ref}`;
  const get = await fetch(url, { headers: { accept: ACCEPT } });
  const head = await fetch(url, { method: 'HEAD', headers: { accept: ACCEPT } });
  if (get.status !== head.status || get.headers.get('docker-content-digest') !== head.headers.get('docker-content-digest')) {
    return `HEAD ${head.status} differs from GET ${get.status}`;
  }
  if (get.ok) return get.headers.get('docker-content-digest') ?? 'no digest';
  const body = (await get.json()) as { errors: { detail: { reason: string } }[] };
  return body.errors[0]?.detail.reason ?? `HTTP ${get.status}`;
}

t.test('Sigstore-only repositories', async (t) => {
  const signed = await image('sig/app', { sigstore: true });
  const multi = await image('sig/multi', { sigstore: true, multi: true, tag: 'm' });
  await image('sig/unsigned');
  t.equal(await pull('sig/app'), signed.digest, 'signed: served');
  t.equal(await pull('sig/unsigned'), 'SIGSTORE_NO_SIGNATURE');
  t.equal(await pull('sig/multi', 'm'), multi.digest, 'a signed index');
  const child = (JSON.parse(multi.body.toString()) as { manifests: { digest: string }[] }).manifests[1]?.digest as string;
  t.equal(await pull('sig/multi', child), child, 'its child, by digest');
  t.equal(await pull('sig/app', signed.digest), signed.digest, 'the signed digest, by digest');
  const r = await run('skopeo', ['inspect', '--tls-verify=false', `docker://${TG}/sig/app:v1`], { timeoutMs: 60_000 });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, signed.digest, 'skopeo pulls through trustgate');
  t.not((await run('skopeo', ['inspect', '--tls-verify=false', `docker://${TG}/sig/unsigned:v1`], { timeoutMs: 60_000 })).code, 0);
});

t.test('signatures pass through: skopeo sigstoreSigned verifies through trustgate', async (t) => {
  const remap = { type: 'remapIdentity' as const, prefix: TG, signedPrefix: 'docker.io' };
  const through = await skopeoAccepts(skopeoDir, TG, 'sig/app:v1', { keyPath: key.pub, signedIdentity: remap });
  t.equal(through.accepted, true, through.stderr);
  const unsigned = await skopeoAccepts(skopeoDir, TG, 'sig/unsigned:v1', { keyPath: key.pub, signedIdentity: remap });
  t.equal(unsigned.accepted, false, 'nothing to pass through for an unsigned image');
  const d = (await manifestOf(registry.url, 'sig/unsigned', 'v1')).digest;
  t.equal(await pull('sig/unsigned', `${d.replace(':', '-')}.sig`), 'DIGEST_NOT_SIGNED', 'no artifacts for an unverified subject');
});

t.test('a tag rolled back to an older signed digest is refused through the proxy', async (t) => {
  const older = await image('sig/roll', { sigstore: true });
  t.equal(await pull('sig/roll'), older.digest);
  const newer = await image('sig/roll', { sigstore: true });
  t.equal(await pull('sig/roll'), newer.digest);
  await putManifest(registry.url, 'sig/roll', 'v1', older.body, older.mediaType);
  t.equal(await pull('sig/roll'), 'TAG_ROLLBACK');
});

t.test('trust: any and all with repositories signed by Notary only, Sigstore only and both', async (t) => {
  for (const mode of ['any', 'all'] as const) {
    const n = await image(`${mode}/notaryonly`, { notary: true });
    const s = await image(`${mode}/sigonly`, { sigstore: true });
    const b = await image(`${mode}/both`, { notary: true, sigstore: true });
    await image(`${mode}/neither`);
    t.equal(await pull(`${mode}/notaryonly`), mode === 'any' ? n.digest : 'SIGSTORE_NO_SIGNATURE', `${mode}: Notary only`);
    t.equal(await pull(`${mode}/sigonly`), mode === 'any' ? s.digest : 'NO_TRUST_DATA', `${mode}: Sigstore only`);
    t.equal(await pull(`${mode}/both`), b.digest, `${mode}: both`);
    t.equal(await pull(`${mode}/neither`), mode === 'any' ? 'SIGSTORE_NO_SIGNATURE' : 'NO_TRUST_DATA', `${mode}: neither (any: the Sigstore reason; all: the first system's)`);
  }
  // both systems sign the tag, but not the same digest
  const a = await image('all/split', { sigstore: true });
  const other = await image('all/split-other');
  await cli.init('docker.io/all/split');
  await cli.sign('docker.io/all/split', 'v1', other);
  t.not(a.digest, other.digest);
  t.equal(await pull('all/split'), 'TRUST_SYSTEMS_DISAGREE');
});

t.test('Notary-only repositories keep working beside them', async (t) => {
  const n = await image('library/classic', { notary: true });
  t.equal(await pull('library/classic'), n.digest);
  await image('library/plain', { sigstore: true });
  t.equal(await pull('library/plain'), 'NO_TRUST_DATA', 'a Sigstore signature does not satisfy a Notary rule');
});

t.test('dockerd pulls through trustgate as its registry mirror', async (t) => {
  const dockerd = await startDockerd(join(dir.path, 'd'), tg.url);
  t.teardown(dockerd.stop);
  const signed = await manifestOf(registry.url, 'sig/app', 'v1');
  const r = await dockerd.docker('pull', 'sig/app:v1');
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, signed.digest);
  t.not((await dockerd.docker('pull', 'sig/unsigned:v1')).code, 0, 'an unsigned image does not pull');
  t.equal((await dockerd.docker('pull', 'any/sigonly:v1')).code, 0, 'trust: any, Sigstore only');
  t.equal((await dockerd.docker('pull', 'any/notaryonly:v1')).code, 0, 'trust: any, Notary only');
  t.not((await dockerd.docker('pull', 'all/sigonly:v1')).code, 0, 'trust: all, Sigstore only');
});

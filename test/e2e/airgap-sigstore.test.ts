// Sigstore across an air gap, end to end: images in a real registry signed by real signers — Debian 13's
// skopeo with a cosign key (cosign's tag layout; a multi-arch index with every child signed), and
// @sigstore/sign through local Fulcio/Rekor/TSA stand-ins (a keyless `.sig`, and a cosign v3 bundle
// found through a referrers API) — exported with `trustgate trust export --images`; the registry and
// the Sigstore services stopped; the images and their signature artifacts copied into another registry
// with skopeo as the README says; `trustgate trust import` into a site with `trust.bundles`, no Redis
// and no route to any Sigstore service or Notary; `trustgate serve` and a real dockerd pulling
// through it. Bundles whose signatures do not verify here — signed with another key, carrying an
// unsigned image, a signature altered after export — are refused whole (in process, so each refusal's
// error class is asserted) and those images never served; rollback protection crosses the gap, and
// an operator's accept-tag lets a deliberate re-tag through.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { stringify } from 'yaml';
import { DSSEBundleBuilder, MessageSignatureBundleBuilder } from '@sigstore/sign';
import { exportBundle } from '../../src/bundle/airgap.js';
import { BundleError } from '../../src/bundle/bundle.js';
import { listTar, readTarFile } from '../../src/bundle/tar.js';
import { loadConfig } from '../../src/config/config.js';
import { SigstoreError, TagRollbackError } from '../../src/errors.js';
import { checksumOf, copyBundleImages, editBundleIndex, importInto, refusedWith, rejectsWith, snapshotDir, unpackBundle } from '../helpers/airgap.js';
import { startDockerd } from '../helpers/dockerd.js';
import { buildLayouts, manifestOf, push } from '../helpers/images.js';
import { startRegistry } from '../helpers/peers.js';
import { freePort, run, runOk, tempDir } from '../helpers/process.js';
import { startReferrersRegistry } from '../helpers/referrers-registry.js';
import { startSigstoreServices } from '../helpers/sigstore-services.js';
import { cosignAnnotations, publishBundle, publishCosignLayer, signStatement, simpleSigningPayload } from '../helpers/sigstore-publish.js';
import { getManifest, makeCosignKey, putManifest, sigTag, signImage, skopeoAccepts } from '../helpers/sigstore.js';
import { CLI, configDoc, startWithConfig } from '../helpers/trustgate.js';

const dir = tempDir('airgap-sigstore');
t.teardown(dir.remove);
const trustgate = (...args: string[]) => run(process.execPath, [CLI, ...args], { timeoutMs: 120_000 });
const ISSUER = 'https://token.actions.example';
const ME = { issuer: ISSUER, subject: 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main' };
const ACCEPT = 'application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json';
const SIG = 'dev.cosignproject.cosign/signature';
type SigManifest = { layers: { annotations: Record<string, string> }[] };

/** What bundle.json lists for each image: its digest and the tags of its signature artifacts. */
async function bundleImages(tar: string): Promise<Map<string, { digest: string; signatures: string[] }>> {
  const entry = (await listTar(tar)).find((f) => f.name === 'bundle.json');
  const index = JSON.parse(String(entry && (await readTarFile(tar, entry)))) as { images: { gun: string; tag: string; digest: string; signatures?: { tag: string }[] }[] };
  return new Map(index.images.map((i) => [`${i.gun}:${i.tag}`, { digest: i.digest, signatures: (i.signatures ?? []).map((a) => a.tag) }]));
}
const REPOS = ['sig/app', 'sig/multi', 'sig/tamper', 'sig/roll', 'kl/tag', 'kl/bundle'];

/** The policy both sides run: keys for sig/*, Fulcio identities for kl/* (bundles prove their time with the TSA). */
function policy(keyPub: string, trustedRoot: string) {
  const keyless = { identities: [ME], trustedRoot };
  return [
    { match: 'docker.io/sig/*', action: 'verify', trust: 'sigstore', sigstore: { keys: [keyPub] } },
    { match: 'docker.io/kl/bundle', action: 'verify', trust: 'sigstore', sigstore: { ...keyless, tlog: 'optional' } },
    { match: 'docker.io/kl/*', action: 'verify', trust: 'sigstore', sigstore: keyless },
  ];
}

t.test('Sigstore-signed pulls enforced across an air gap', async (t) => {
  // ---- the connected side: a registry (a referrers API in front of it), signers, the stand-ins -----
  const registry = await startRegistry(dir.path);
  t.teardown(registry.stop);
  const HOST = registry.url.replace('http://', '');
  const withApi = await startReferrersRegistry(registry.url);
  t.teardown(withApi.close);
  const services = await startSigstoreServices(dir.path);
  t.teardown(services.close);
  const key = await makeCosignKey(join(dir.path, 'keys'), 'cosign');
  const skopeoDir = join(dir.path, 'skopeo');
  let salt = 0;
  const image = async (repo: string, o: { multi?: boolean; sign?: boolean } = {}) => {
    const l = buildLayouts(join(dir.path, `oci-${salt}`), ` ${salt++}`);
    await push(o.multi ? l.multi : l.single, o.multi ? 'multi' : 'v1', `${HOST}/${repo}:v1`, o.multi ? { all: true } : {});
    if (o.sign !== false) await signImage(skopeoDir, HOST, `${repo}:v1`, key, { identity: `docker.io/${repo}:v1`, all: o.multi === true });
    return manifestOf(registry.url, repo, 'v1');
  };
  const app = await image('sig/app');
  const multi = await image('sig/multi', { multi: true });
  const tamper = await image('sig/tamper');
  const olderRoll = await image('sig/roll');
  const klTag = await image('kl/tag', { sign: false });
  const payload = simpleSigningPayload('docker.io/kl/tag:v1', klTag.digest);
  const signed = await new MessageSignatureBundleBuilder({ signer: services.signer(ME), witnesses: [services.rekor()] }).create({ data: payload });
  await publishCosignLayer(registry.url, 'kl/tag', klTag.digest, payload, cosignAnnotations(signed));
  const klBundle = await image('kl/bundle', { sign: false });
  const dsse = await new DSSEBundleBuilder({ signer: services.signer(ME), witnesses: [services.tsa()] }).create({ data: signStatement(klBundle.digest), type: 'application/vnd.in-toto+json' });
  await publishBundle(registry.url, 'kl/bundle', { digest: klBundle.digest, mediaType: klBundle.mediaType, size: klBundle.body.length }, dsse);

  const online = join(dir.path, 'online.yaml');
  writeFileSync(online, stringify({ upstreams: [{ name: 'docker.io', registry: withApi.url, default: true }], policy: policy(key.pub, services.trustedRootPath) }));
  const bundle = join(dir.path, 'carry', 'signed.tar');
  const exp = await trustgate('trust', 'export', ...REPOS.map((r) => `${r}:v1`), '--images', '--out', bundle, '--config', online);
  t.equal(exp.code, 0, exp.stderr);
  const listed = await bundleImages(bundle);
  t.same(listed.get('docker.io/sig/app:v1'), { digest: app.digest, signatures: [sigTag(app.digest)] }, 'the image and its .sig tag');
  t.equal(listed.get('docker.io/sig/multi:v1')?.signatures.length, 3, 'the index and both children');
  t.same(listed.get('docker.io/kl/bundle:v1'), { digest: klBundle.digest, signatures: [klBundle.digest.replace(':', '-')] }, 'the referrers as a tag-schema index');
  t.ok(withApi.referrerRequests.some((p) => p.includes(klBundle.digest)), 'the bundle was found through the referrers API');
  const names = (await listTar(bundle)).map((f) => f.name);
  t.ok(names.includes(`images/docker.io/sig/app/_sigs/${sigTag(app.digest)}/manifest.json`), 'the .sig tag as a dir: directory');
  t.ok(names.includes(`images/docker.io/kl/bundle/_sigs/${klBundle.digest.replace(':', '-')}/manifest.json`), 'the referrers as a tag-schema index');
  t.ok(names.some((n) => /^sigstore\/keys\/[0-9a-f]{64}\.pub$/.test(n)) && names.some((n) => /^sigstore\/trusted-roots\/[0-9a-f]{64}\.json$/.test(n)), 'the key and the trusted root');

  // an unsigned image: the export refuses it; a carrier adds it to a copy of the bundle by hand
  const bare = await image('sig/bare', { sign: false });
  await rejectsWith(t, exportBundle(['sig/bare:v1'], { out: join(dir.path, 'carry', 'bare.tar'), config: await loadConfig(online), images: true }), SigstoreError, 'SIGSTORE_NO_SIGNATURE', 'export of an unsigned image');
  const unsignedBundle = await unpackBundle(bundle, join(dir.path, 'unsigned'));
  const barePath = 'images/docker.io/sig/bare/_tags/v1';
  mkdirSync(join(unsignedBundle, barePath), { recursive: true });
  await runOk('skopeo', ['copy', '-q', '--all', '--preserve-digests', '--src-tls-verify=false', `docker://${HOST}/sig/bare:v1`, `dir:${join(unsignedBundle, barePath)}`], { timeoutMs: 120_000 });
  editBundleIndex(unsignedBundle, (index) => void index.images?.push({ gun: 'docker.io/sig/bare', tag: 'v1', digest: bare.digest, path: barePath }));

  // a newer signed image for sig/roll, in a second bundle
  const newerRoll = await image('sig/roll');
  const bundle2 = join(dir.path, 'carry', 'roll') + '/';
  t.equal((await trustgate('trust', 'export', 'sig/roll:v1', '--images', '--out', bundle2, '--config', online)).code, 0);

  // the far side reaches no Fulcio, Rekor or TSA, no Notary, and not the connected registry: all stopped
  await services.close();
  await withApi.close();
  await registry.stop();
  for (const url of [services.url, withApi.url, registry.url]) await t.rejects(fetch(`${url}/v2/`), `${url} is gone`);

  // ---- the air-gapped side: its own registry, no Redis, no Sigstore services, no Notary ---------------
  const far = await startRegistry(dir.path);
  t.teardown(far.stop);
  const FAR = far.url.replace('http://', '');
  const unpacked = join(dir.path, 'unpacked');
  mkdirSync(unpacked);
  await runOk('tar', ['-xf', bundle, '--no-same-owner', '--no-same-permissions', '-C', unpacked, 'images']);
  // sig/tamper's signature is altered in the copy the carrier brings (below); sig/bare comes unsigned
  for (const repo of REPOS.filter((r) => r !== 'sig/tamper')) await copyBundleImages(join(unpacked, 'images'), `docker.io/${repo}`, FAR, repo);
  await copyBundleImages(join(unsignedBundle, 'images'), 'docker.io/sig/bare', FAR, 'sig/bare');
  const sigEntry = (await listTar(bundle)).find((f) => f.name === `images/docker.io/sig/app/_sigs/${sigTag(app.digest)}/manifest.json`);
  t.ok(sigEntry && (await getManifest(far.url, 'sig/app', sigTag(app.digest)))?.equals(await readTarFile(bundle, sigEntry)), 'the far registry holds the signature manifest byte for byte');

  const store = join(dir.path, 'site', 'trust');
  const port = await freePort();
  const siteConfig = (name: string, keyPub: string) => {
    const path = join(dir.path, `${name}.yaml`);
    const doc = configDoc({ upstreams: [{ name: 'docker.io', registry: far.url, default: true }], policy: policy(keyPub, services.trustedRootPath), trust: { bundles: store, refreshInterval: '0s' } }, port);
    writeFileSync(path, stringify(doc));
    return path;
  };
  const site = siteConfig('site', key.pub);
  const KEYED = ['sig/app', 'sig/multi', 'sig/tamper', 'sig/roll'].map((r) => `docker.io/${r}:v1`);

  await t.test('signed with a key this site does not trust: refused whole, nothing written', async (t) => {
    const otherKey = await makeCosignKey(join(dir.path, 'keys'), 'other');
    const r = await importInto(bundle, siteConfig('other-key', otherKey.pub));
    refusedWith(t, r, KEYED.map((n) => [n, SigstoreError, 'SIGSTORE_KEY_MISMATCH'] as const));
    t.same(snapshotDir(store), new Map(), 'nothing written');
  });

  await t.test('a bundle carrying an unsigned image: refused whole, nothing written', async (t) => {
    const r = await importInto(unsignedBundle, site);
    refusedWith(t, r, [['docker.io/sig/bare:v1', SigstoreError, 'SIGSTORE_NO_SIGNATURE']]);
    t.same(snapshotDir(store), new Map(), 'nothing written');
  });

  // a signature artifact altered after export
  const tampered = await unpackBundle(bundle, join(dir.path, 'tampered'));
  const tamperSig = `images/docker.io/sig/tamper/_sigs/${sigTag(tamper.digest)}/manifest.json`;
  const doc = JSON.parse(readFileSync(join(tampered, tamperSig), 'utf8')) as SigManifest;
  const sig = Buffer.from(doc.layers[0]?.annotations[SIG] as string, 'base64');
  sig.writeUInt8((sig.at(-1) as number) ^ 1, sig.length - 1);
  (doc.layers[0] as SigManifest['layers'][0]).annotations[SIG] = sig.toString('base64');
  const forged = Buffer.from(JSON.stringify(doc));
  writeFileSync(join(tampered, tamperSig), forged);

  await t.test('a signature altered after export: refused whole, checksum fixed or not, nothing written', async (t) => {
    const asIs = await importInto(tampered, site);
    refusedWith(t, asIs, [['docker.io/sig/tamper:v1', BundleError, 'CONFIG_INVALID']]);
    editBundleIndex(tampered, (index) => void (index.files[tamperSig] = checksumOf(forged)));
    const fixed = await importInto(tampered, site);
    refusedWith(t, fixed, [['docker.io/sig/tamper:v1', SigstoreError, 'SIGSTORE_KEY_MISMATCH']]);
    t.same(snapshotDir(store), new Map(), 'nothing written');
  });
  // the carrier's altered copy is what reaches the far registry
  await copyBundleImages(join(tampered, 'images'), 'docker.io/sig/tamper', FAR, 'sig/tamper');

  await t.test('the honest bundles import; the older one again is TAG_ROLLBACK', async (t) => {
    const r = await trustgate('trust', 'import', bundle, '--config', site);
    t.equal(r.code, 0, r.stderr);
    const second = await trustgate('trust', 'import', bundle2, '--config', site);
    t.equal(second.code, 0, second.stderr);
    const before = snapshotDir(store);
    const back = await trustgate('trust', 'import', bundle, '--config', site);
    t.equal(back.code, 1, 'the first bundle again: sig/roll would go back');
    refusedWith(t, await importInto(bundle, site), [['docker.io/sig/roll:v1', TagRollbackError, 'TAG_ROLLBACK']]);
    t.same(snapshotDir(store), before, 'nothing written');
  });

  await copyBundleImages(join(bundle2, 'images'), 'docker.io/sig/roll', FAR, 'sig/roll');

  const tg = await startWithConfig(dir.path, site, port);
  t.teardown(() => tg.stop());
  const TG = tg.url.replace('http://', '');
  /** The digest served, or the refusal reason — GET and HEAD alike. */
  const pull = async (repo: string, ref = 'v1'): Promise<string> => {
    const url = `${tg.url}/v2/${repo}/manifests/${ref}`;
    const get = await fetch(url, { headers: { accept: ACCEPT } });
    const head = await fetch(url, { method: 'HEAD', headers: { accept: ACCEPT } });
    if (get.status !== head.status) return `HEAD ${head.status} differs from GET ${get.status}`;
    if (get.ok) return get.headers.get('docker-content-digest') ?? 'no digest';
    return ((await get.json()) as { errors: { detail: { reason: string } }[] }).errors[0]?.detail.reason ?? `HTTP ${get.status}`;
  };

  await t.test('trustgate serve enforces the Sigstore policies offline', async (t) => {
    t.equal(await pull('sig/app'), app.digest, 'keyed, cosign tag layout');
    t.equal(await pull('sig/multi'), multi.digest, 'a signed index');
    t.equal(await pull('kl/tag'), klTag.digest, 'keyless, Rekor entry verified offline');
    t.equal(await pull('kl/bundle'), klBundle.digest, 'keyless cosign v3 bundle, through the tag-schema index');
    t.equal(await pull('sig/bare'), 'SIGSTORE_NO_SIGNATURE', 'the unsigned image the carrier brought is never served');
    t.equal(await pull('sig/tamper'), 'SIGSTORE_KEY_MISMATCH', 'the altered signature the carrier brought is never served');
    const copied = await run('skopeo', ['copy', '-q', '--all', '--src-tls-verify=false', `docker://${TG}/sig/multi:v1`, `dir:${join(dir.path, 'pulled-multi')}`], { timeoutMs: 120_000 });
    t.equal(copied.code, 0, copied.stderr);
    t.not((await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${TG}/sig/bare:v1`], { timeoutMs: 120_000 })).code, 0, 'skopeo is refused the unsigned one');
    const through = await skopeoAccepts(skopeoDir, TG, 'sig/app:v1', { keyPath: key.pub, signedIdentity: { type: 'remapIdentity', prefix: TG, signedPrefix: 'docker.io' } });
    t.equal(through.accepted, true, `the copied signatures verify through trustgate for skopeo's sigstoreSigned: ${through.stderr}`);
  });

  await t.test('rollback protection crossed the gap: the older signed image refused, until the operator accepts it', async (t) => {
    // this process never saw the newer image: only the imported record knows it
    await putManifest(far.url, 'sig/roll', 'v1', olderRoll.body, olderRoll.mediaType);
    t.equal(await pull('sig/roll'), 'TAG_ROLLBACK', 'the older image, as the first pull of the tag');
    await putManifest(far.url, 'sig/roll', 'v1', newerRoll.body, newerRoll.mediaType);
    t.equal(await pull('sig/roll'), newerRoll.digest, 'the newer signed image');
    await putManifest(far.url, 'sig/roll', 'v1', olderRoll.body, olderRoll.mediaType);
    t.equal(await pull('sig/roll'), 'TAG_ROLLBACK', 'the older one again');
    const accepted = await trustgate('sigstore', 'accept-tag', 'sig/roll:v1', '--digest', olderRoll.digest, '--config', site);
    t.equal(accepted.code, 0, accepted.stderr);
    t.equal(await pull('sig/roll'), olderRoll.digest, 'served once accepted');
    const again = await trustgate('trust', 'import', bundle, '--config', site);
    t.equal(again.code, 0, `the older bundle imports once accepted: ${again.stderr}`);
  });

  await t.test('a real dockerd pulls the signed images through trustgate and is refused the others', async (t) => {
    const dockerd = await startDockerd(join(dir.path, 'd'), tg.url);
    t.teardown(dockerd.stop);
    for (const [ref, digest] of [['sig/app:v1', app.digest], ['sig/multi:v1', multi.digest], ['kl/bundle:v1', klBundle.digest]] as const) {
      const r = await dockerd.docker('pull', ref);
      t.equal(r.code, 0, r.stderr);
      t.match(r.stdout, digest);
    }
    t.not((await dockerd.docker('pull', 'sig/bare:v1')).code, 0);
    t.not((await dockerd.docker('pull', 'sig/tamper:v1')).code, 0);
  });
});

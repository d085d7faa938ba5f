// Keyless signatures and Sigstore bundles from a real signer (@sigstore/sign) against local stand-ins
// for Fulcio, Rekor and a timestamp authority, published into a real registry in cosign's tag layout
// and as bundle referrers (found through the tag-schema fallback of distribution 2.8, and through a
// referrers API simulated in front of it), then judged by trustgate's Sigstore trust source.

import { join } from 'node:path';
import t from 'tap';
import { DSSEBundleBuilder, MessageSignatureBundleBuilder, type Witness } from '@sigstore/sign';
import { parseConfig } from '../../src/config/config.js';
import { SigstoreError, TagRollbackError } from '../../src/errors.js';
import { Policy } from '../../src/policy/policy.js';
import type { PullTarget } from '../../src/pull/target.js';
import { RegistryUpstream } from '../../src/registry/upstream.js';
import { SigstoreTrustSource } from '../../src/sigstore/source.js';
import { MemoryTagHistory } from '../../src/sigstore/tag-history.js';
import { buildLayouts, manifestOf, push } from '../helpers/images.js';
import { startRegistry } from '../helpers/peers.js';
import { tempDir } from '../helpers/process.js';
import { startReferrersRegistry } from '../helpers/referrers-registry.js';
import { startSigstoreServices, type SigstoreServices } from '../helpers/sigstore-services.js';
import { cosignAnnotations, publishBundle, publishCosignLayer, signStatement, simpleSigningPayload } from '../helpers/sigstore-publish.js';

const dir = tempDir('sigstore-keyless');
t.teardown(dir.remove);
const registry = await startRegistry(dir.path);
t.teardown(registry.stop);
const HOST = registry.url.replace('http://', '');
const NAME = 'registry.test';
const layouts = buildLayouts(join(dir.path, 'oci'));
const services = await startSigstoreServices(dir.path);
t.teardown(services.close);
const ISSUER = 'https://token.actions.example';
const SUBJECT = 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main';
const ME = { issuer: ISSUER, subject: SUBJECT };

async function gate(sigstore: Record<string, unknown>, registryUrl = registry.url) {
  const config = await parseConfig(
    { upstreams: [{ name: NAME, registry: registryUrl, default: true }], policy: [{ match: '*', action: 'verify', trust: 'sigstore', sigstore }] },
    { env: {}, baseDir: dir.path },
  );
  const upstream = new RegistryUpstream(config.upstreams[0] as (typeof config.upstreams)[0], {});
  t.teardown(() => upstream.close());
  const policy = new Policy(config.policy, true);
  const source = new SigstoreTrustSource({ history: new MemoryTagHistory(), verdictTtlMs: 60_000, manifestMaxBytes: 4 << 20 });
  const target = (repository: string): PullTarget => ({ upstream, repository, gun: `${NAME}/${repository}`, decision: policy.decide(`${NAME}/${repository}`), accept: undefined });
  const verdict = async (repository: string, tag: string): Promise<string> => {
    try {
      await source.resolveTag(target(repository), tag);
      return 'accepted';
    } catch (err) {
      if (err instanceof SigstoreError || err instanceof TagRollbackError) return err.code;
      throw err;
    }
  };
  return { source, target, verdict };
}

const keyless = (extra: Record<string, unknown> = {}) => ({ identities: [ME], trustedRoot: services.trustedRootPath, ...extra });

/** Push a fresh image to `repo:v1` and return its descriptor. */
let salt = 0;
async function image(repo: string) {
  const l = buildLayouts(join(dir.path, `oci-${salt}`), ` ${salt++}`);
  await push(l.single, 'v1', `${HOST}/${repo}:v1`);
  return manifestOf(registry.url, repo, 'v1');
}

/** cosign v2 keyless: a message signature over the simple-signing payload, in the `.sig` tag. */
async function signCosignTag(repo: string, digest: string, o: { svc?: SigstoreServices; witnesses?: Witness[]; rekor?: boolean; identity?: typeof ME } = {}) {
  const svc = o.svc ?? services;
  const payload = simpleSigningPayload(`${NAME}/${repo}:v1`, digest);
  const builder = new MessageSignatureBundleBuilder({ signer: svc.signer(o.identity ?? ME), witnesses: o.witnesses ?? [svc.rekor()] });
  const bundle = await builder.create({ data: payload });
  await publishCosignLayer(registry.url, repo, digest, payload, cosignAnnotations(bundle, { rekor: o.rekor }));
  return bundle;
}

t.test('cosign tag layout, keyless: the identity decides', async (t) => {
  const m = await image('kl/tag');
  await signCosignTag('kl/tag', m.digest);
  const g = await gate(keyless());
  const r = await g.source.resolveTag(g.target('kl/tag'), 'v1');
  t.equal(r.verdict.digest, m.digest);
  t.equal(r.verdict.signedBy, 'sigstore-identity');
  t.same(r.verdict.signers, [`${ISSUER} ${SUBJECT}`]);
  t.equal(await (await gate(keyless({ identities: [{ issuer: ISSUER, subject: `${SUBJECT}x` }] }))).verdict('kl/tag', 'v1'), 'SIGSTORE_IDENTITY_MISMATCH', 'another subject');
  t.equal(await (await gate(keyless({ identities: [{ issuer: 'https://accounts.example', subject: SUBJECT }] }))).verdict('kl/tag', 'v1'), 'SIGSTORE_IDENTITY_MISMATCH', 'another issuer');
  t.equal(await (await gate(keyless({ identities: [{ issuer: ISSUER, subjectRegExp: 'https://github\\.com/acme/.*' }] }))).verdict('kl/tag', 'v1'), 'accepted', 'subjectRegExp');
  t.equal(await (await gate(keyless({ identities: [{ issuer: ISSUER, subjectRegExp: 'acme' }] }))).verdict('kl/tag', 'v1'), 'SIGSTORE_IDENTITY_MISMATCH', 'the pattern must match the whole subject');
});

t.test('tlog: required refuses a signature without a log entry; optional accepts a TSA timestamp instead', async (t) => {
  const m = await image('kl/notlog');
  await signCosignTag('kl/notlog', m.digest, { witnesses: [services.tsa()] });
  t.equal(await (await gate(keyless())).verdict('kl/notlog', 'v1'), 'SIGSTORE_TLOG_MISSING');
  t.equal(await (await gate(keyless({ tlog: 'optional' }))).verdict('kl/notlog', 'v1'), 'accepted');
  const m2 = await image('kl/notime');
  await signCosignTag('kl/notime', m2.digest, { rekor: false });
  t.equal(await (await gate(keyless({ tlog: 'optional' }))).verdict('kl/notime', 'v1'), 'SIGSTORE_TIMESTAMP_INVALID', 'no proven signing time at all');
});

t.test('a tampered signed entry timestamp: SIGSTORE_TLOG_INVALID', async (t) => {
  const m = await image('kl/set');
  const payload = simpleSigningPayload(`${NAME}/kl/set:v1`, m.digest);
  const bundle = await new MessageSignatureBundleBuilder({ signer: services.signer(ME), witnesses: [services.rekor()] }).create({ data: payload });
  const a = cosignAnnotations(bundle);
  const rekor = JSON.parse(a['dev.sigstore.cosign/bundle'] as string) as { Payload: { integratedTime: number } };
  rekor.Payload.integratedTime += 1;
  a['dev.sigstore.cosign/bundle'] = JSON.stringify(rekor);
  await publishCosignLayer(registry.url, 'kl/set', m.digest, payload, a);
  t.equal(await (await gate(keyless())).verdict('kl/set', 'v1'), 'SIGSTORE_TLOG_INVALID');
});

t.test('a certificate no longer valid when the log entry was made: SIGSTORE_CERTIFICATE_INVALID', async (t) => {
  const past = await startSigstoreServices(dir.path, { caClock: new Date(Date.now() - 3_600_000) });
  t.teardown(past.close);
  const m = await image('kl/expired');
  await signCosignTag('kl/expired', m.digest, { svc: past });
  t.equal(await (await gate({ identities: [ME], trustedRoot: past.trustedRootPath })).verdict('kl/expired', 'v1'), 'SIGSTORE_CERTIFICATE_INVALID');
});

t.test('a policy with keys only refuses a certificate signature', async (t) => {
  const m = await image('kl/keysonly');
  await signCosignTag('kl/keysonly', m.digest);
  const { makeCosignKey } = await import('../helpers/sigstore.js');
  const key = await makeCosignKey(join(dir.path, 'keys'), 'k');
  t.equal(await (await gate({ keys: [key.pub] })).verdict('kl/keysonly', 'v1'), 'SIGSTORE_KEY_MISMATCH');
});

// The Rekor stand-in cannot log DSSE entries as Rekor does (v1 stores the proposed entry verbatim; v2
// proofs carry an index beyond their tree), so bundles here prove their signing time with the timestamp
// authority and the policy sets tlog: optional. Rekor entries are covered by the tag-layout tests above.
async function signBundle(repo: string, subject: { digest: string; mediaType: string; size: number }, statementDigest = subject.digest, name = '') {
  const builder = new DSSEBundleBuilder({ signer: services.signer(ME), witnesses: [services.tsa()] });
  const bundle = await builder.create({ data: signStatement(statementDigest, name), type: 'application/vnd.in-toto+json' });
  await publishBundle(registry.url, repo, { digest: subject.digest, mediaType: subject.mediaType.split(';')[0] as string, size: subject.size }, bundle);
}

t.test('Sigstore bundles (cosign v3): found through the tag-schema fallback and through the referrers API', async (t) => {
  const m = await image('kl/bundle');
  await signBundle('kl/bundle', m);
  t.equal(await (await gate(keyless())).verdict('kl/bundle', 'v1'), 'SIGSTORE_TLOG_MISSING', 'tlog required by default for keyless');
  const g = await gate(keyless({ tlog: 'optional' }));
  t.equal(await g.verdict('kl/bundle', 'v1'), 'accepted', 'tag schema on distribution 2.8');
  const sim = await startReferrersRegistry(registry.url);
  t.teardown(sim.close);
  const viaApi = await gate(keyless({ tlog: 'optional' }), sim.url);
  t.equal(await viaApi.verdict('kl/bundle', 'v1'), 'accepted', 'referrers API');
  t.ok(sim.referrerRequests.some((p) => p.includes(`/referrers/${m.digest}`)), 'asked the referrers API');
});

t.test('a bundle whose statement signs another digest, or names another repository, is refused', async (t) => {
  const m = await image('kl/bundle-other');
  const other = await manifestOf(registry.url, 'kl/tag', 'v1');
  await signBundle('kl/bundle-other', m, other.digest);
  const optional = keyless({ tlog: 'optional' });
  t.equal(await (await gate(optional)).verdict('kl/bundle-other', 'v1'), 'SIGSTORE_PAYLOAD_MISMATCH');
  const n = await image('kl/bundle-name');
  await signBundle('kl/bundle-name', n, n.digest, `${NAME}/kl/elsewhere`);
  t.equal(await (await gate(optional)).verdict('kl/bundle-name', 'v1'), 'SIGSTORE_REPOSITORY_MISMATCH');
  const k = await image('kl/bundle-named');
  await signBundle('kl/bundle-named', k, k.digest, `${NAME}/kl/bundle-named`);
  t.equal(await (await gate(optional)).verdict('kl/bundle-named', 'v1'), 'accepted', 'its own name');
});

t.test('bundles pass through trustgate for a verified subject: the tag-schema index, the referrer, its blob, the referrers API', async (t) => {
  const { startInProcess } = await import('../helpers/trustgate.js');
  const sim = await startReferrersRegistry(registry.url);
  t.teardown(sim.close);
  const m = await image('kl/through');
  await signBundle('kl/through', m);
  const unsigned = await image('kl/through-unsigned');
  const policy = [{ match: '*', action: 'verify', trust: 'sigstore', sigstore: keyless({ tlog: 'optional' }) }];
  const tg = await startInProcess(dir.path, { upstreams: [{ name: NAME, registry: registry.url, default: true }], policy });
  t.teardown(tg.stop);
  const get = (path: string) => fetch(`${tg.url}/v2/${path}`, { headers: { accept: 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json' } });
  t.equal((await get(`kl/through/manifests/v1`)).status, 200, 'the signed image');
  const index = await get(`kl/through/manifests/${m.digest.replace(':', '-')}`);
  t.equal(index.status, 200, 'the tag-schema index');
  const referrer = ((await index.json()) as { manifests: { digest: string }[] }).manifests[0]?.digest as string;
  const rm = await get(`kl/through/manifests/${referrer}`);
  t.equal(rm.status, 200, 'the referrer manifest, by digest');
  const layer = ((await rm.json()) as { layers: { digest: string }[] }).layers[0]?.digest as string;
  t.equal((await get(`kl/through/blobs/${layer}`)).status, 200, 'the bundle blob');
  t.equal((await get(`kl/through-unsigned/manifests/${unsigned.digest.replace(':', '-')}`)).status, 403, 'nothing for an unverified subject');
  t.equal((await get(`kl/through/referrers/${m.digest}`)).status, 404, 'distribution 2.8 has no referrers API: clients fall back');

  const viaApi = await startInProcess(dir.path, { upstreams: [{ name: NAME, registry: sim.url, default: true }], policy });
  t.teardown(viaApi.stop);
  const api = await fetch(`${viaApi.url}/v2/kl/through/referrers/${m.digest}`);
  t.equal(api.status, 200, 'the referrers API, where the upstream has one');
  t.equal(((await api.json()) as { manifests: { digest: string }[] }).manifests[0]?.digest, referrer);
  t.equal((await fetch(`${viaApi.url}/v2/kl/through-unsigned/referrers/${unsigned.digest}`)).status, 403);
});

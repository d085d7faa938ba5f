// Signature artifacts passed through (pull/signature-artifacts.ts), against an in-process registry:
// cosign's tags, referrer manifests by digest and the referrers API answer are served only for a
// servable subject, only for repositories whose policy involves Sigstore, and a referrer fetched by
// digest only when its bytes hash to that digest.

import t, { type Test } from 'tap';
import { PolicyDeniedError } from '../../src/errors.js';
import type { Decision } from '../../src/policy/policy.js';
import { isSignatureArtifactTag, SignatureArtifacts } from '../../src/pull/signature-artifacts.js';
import type { PullTarget } from '../../src/pull/target.js';
import { OCI_INDEX, OCI_MANIFEST } from '../../src/registry/media-types.js';
import { DOCKER_ROLES, NO_PINNING } from '../../src/trust/index.js';
import { digestOf, FakeRegistry } from '../helpers/fake-registry.js';
import { rejectsWith } from '../helpers/trust.js';

const REPO = 'library/signed';
const SUBJECT = `sha256:${'5'.repeat(64)}`;
const HEX = SUBJECT.slice('sha256:'.length);
const decision = (over: Partial<Decision>): Decision => ({ action: 'verify', roles: DOCKER_ROLES, pinning: NO_PINNING, rule: '*', ...over });
const referrer = (subject: unknown) => Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, layers: [], subject }));

async function world(t: Test, trust: Decision['trust'] = 'sigstore', servable = [SUBJECT]) {
  const registry = new FakeRegistry();
  const upstream = await registry.start(t);
  const asked: string[] = [];
  const artifacts = new SignatureArtifacts(1 << 20);
  artifacts.bind(async (_, digest) => {
    asked.push(digest);
    return servable.includes(digest);
  });
  const target: PullTarget = { upstream, repository: REPO, gun: `docker.io/${REPO}`, decision: decision({ trust }), accept: undefined };
  return { registry, artifacts, target, asked };
}

t.test('artifact tags are recognised only where the policy involves Sigstore', async (t) => {
  const w = await world(t);
  for (const tag of [`sha256-${HEX}`, `sha256-${HEX}.sig`, `sha256-${HEX}.att`, `sha256-${HEX}.sbom`]) t.ok(isSignatureArtifactTag(w.target, tag), tag);
  for (const tag of [`sha256-${HEX}.sig2`, `xsha256-${HEX}`, `sha256-${HEX.slice(1)}`, `sha256-${'A'.repeat(64)}`, 'v1']) t.notOk(isSignatureArtifactTag(w.target, tag), tag);
  const tag = `sha256-${HEX}.sig`;
  t.ok(isSignatureArtifactTag({ ...w.target, decision: decision({ trust: 'any' }) }, tag));
  t.notOk(isSignatureArtifactTag({ ...w.target, decision: decision({ trust: 'notary' }) }, tag));
  t.notOk(isSignatureArtifactTag({ ...w.target, decision: decision({ trust: undefined }) }, tag), 'no trust mode is Notary');
  t.notOk(isSignatureArtifactTag({ ...w.target, decision: decision({ action: 'allow', trust: 'sigstore' }) }, tag));
});

t.test('by tag: served for a servable subject, with its media type and digest', async (t) => {
  const w = await world(t);
  const sig = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, layers: [] }));
  w.registry.push(sig, 'application/octet-stream', `sha256-${HEX}.sig`);
  const served = await w.artifacts.byTag(w.target, `sha256-${HEX}.sig`);
  t.same(served, { digest: digestOf(sig), mediaType: OCI_MANIFEST, body: sig, role: 'signature-artifact', cache: 'miss' });
  t.same(w.asked, [SUBJECT]);
  t.match(String(w.registry.headers.at(-1)?.accept), /application\/vnd\.oci\.image\.manifest\.v1\+json/, 'every manifest type accepted');
  const bare = Buffer.from('{"schemaVersion":2}');
  w.registry.push(bare, OCI_INDEX, `sha256-${HEX}`);
  t.equal((await w.artifacts.byTag(w.target, `sha256-${HEX}`)).mediaType, OCI_INDEX, 'no declared type: the upstream\'s');
  w.registry.push(Buffer.from('{"schemaVersion":2,"layers":[]}'), '', `sha256-${HEX}.att`);
  t.equal((await w.artifacts.byTag(w.target, `sha256-${HEX}.att`)).mediaType, OCI_MANIFEST, 'neither: an OCI image manifest');
});

t.test('by tag: refused for a subject that is not servable, before anything is fetched', async (t) => {
  const w = await world(t, 'sigstore', []);
  await rejectsWith(t, w.artifacts.byTag(w.target, `sha256-${HEX}.sig`), PolicyDeniedError, 'DIGEST_NOT_SIGNED');
  t.same(w.registry.requests, []);
  await rejectsWith(t, new SignatureArtifacts(1).byTag(w.target, `sha256-${HEX}.sig`), PolicyDeniedError, 'DIGEST_NOT_SIGNED');
});

t.test('by digest: a referrer whose subject is servable', async (t) => {
  const w = await world(t);
  const body = referrer({ mediaType: OCI_MANIFEST, digest: SUBJECT, size: 1 });
  const digest = w.registry.push(body, OCI_MANIFEST);
  const served = await w.artifacts.byDigest(w.target, digest);
  t.equal(served?.digest, digest);
  t.equal(served?.role, 'signature-artifact');
  t.same(w.asked, [SUBJECT]);
  t.match(String(w.registry.headers.at(-1)?.accept), /application\/vnd\.oci\.image\.index\.v1\+json/, 'every manifest type accepted');
});

t.test('by digest: nothing served otherwise', async (t) => {
  const w = await world(t);
  const other = `sha256:${'6'.repeat(64)}`;
  const cases: [string, Buffer][] = [
    ['subject not servable', referrer({ digest: other })],
    ['no subject', Buffer.from(JSON.stringify({ schemaVersion: 2 }))],
    ['a subject that is no digest', referrer({ digest: 'sha256:xyz' })],
    ['a subject digest that is not a string', referrer({ digest: 5 })],
    ['not JSON', Buffer.from('not json')],
  ];
  for (const [why, body] of cases) t.equal(await w.artifacts.byDigest(w.target, w.registry.push(body, OCI_MANIFEST)), undefined, why);
  // bytes that are not the ones asked for
  const lying = referrer({ digest: SUBJECT });
  const asked = digestOf(Buffer.from('{"other":1}'));
  w.registry.serve(asked, { body: lying, mediaType: OCI_MANIFEST });
  t.equal(await w.artifacts.byDigest(w.target, asked), undefined, 'other bytes than the digest asked');
  const self = await world(t, 'sigstore', []);
  t.equal(await self.artifacts.byDigest({ ...self.target, decision: decision({ trust: 'notary' }) }, asked), undefined, 'Notary-only: not looked up');
  const unbound = new SignatureArtifacts(1 << 20);
  t.equal(await unbound.byDigest(w.target, w.registry.push(referrer({ digest: SUBJECT }), OCI_MANIFEST)), undefined, 'nothing is servable before the manifest service is bound');
  t.same(self.registry.requests, []);
});

t.test('referrers: the upstream\'s answer for a servable subject, only under a Sigstore policy', async (t) => {
  const w = await world(t);
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] }));
  w.registry.answer(`/v2/${REPO}/referrers/${SUBJECT}`, { status: 200, headers: { 'content-type': OCI_INDEX }, body: index });
  t.same(await w.artifacts.referrers(w.target, SUBJECT, undefined), index);
  t.equal(await w.artifacts.referrers(w.target, SUBJECT, 'application/x'), undefined, 'filtered by artifact type upstream (none here)');
  t.equal(await w.artifacts.referrers({ ...w.target, decision: decision({ trust: 'notary' }) }, SUBJECT, undefined), undefined);
  await rejectsWith(t, w.artifacts.referrers(w.target, `sha256:${'7'.repeat(64)}`, undefined), PolicyDeniedError, 'DIGEST_NOT_SIGNED');
  const small = new SignatureArtifacts(8);
  small.bind(async () => true);
  await rejectsWith(t, small.referrers(w.target, SUBJECT, undefined), PolicyDeniedError, 'DIGEST_NOT_SIGNED');
});

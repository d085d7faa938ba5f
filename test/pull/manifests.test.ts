// The manifest use case against an in-process registry that lies and the Notary trust source over the
// repository simulator: only bytes that hash to a signed digest are served — never bytes taken on the
// upstream's word (its Docker-Content-Digest), never a cached copy without re-hashing it — and a child
// of an index is admitted only through an index that is signed and whose bytes were verified.

import t, { type Test } from 'tap';
import { MemoryResultCache } from '../../src/cache/results.js';
import { ManifestMismatchError, PolicyDeniedError } from '../../src/errors.js';
import { NotaryTrustSource } from '../../src/notary/source.js';
import { ManifestService } from '../../src/pull/manifests.js';
import type { PullTarget } from '../../src/pull/target.js';
import { OCI_INDEX, OCI_MANIFEST } from '../../src/registry/media-types.js';
import { DOCKER_ROLES, NO_PINNING, type JsonObject } from '../../src/trust/index.js';
import { digestOf, FakeRegistry } from '../helpers/fake-registry.js';
import { RepoSimulator } from '../helpers/simulator.js';
import { rejectsWith, updaterFor } from '../helpers/trust.js';

const REPO = 'library/sim';
const image = (n: string) => Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { digest: `sha256:${n.repeat(64)}` }, layers: [] }));
const indexOf = (...children: string[]) =>
  Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: children.map((digest) => ({ mediaType: OCI_MANIFEST, digest, size: 1 })) }));

/** A signed repository: v1 → an image, multi → an index of two images; a registry serving them. */
async function world(t: Test) {
  const registry = new FakeRegistry();
  const upstream = await registry.start(t);
  const v1 = registry.push(image('1'), OCI_MANIFEST);
  const childA = registry.push(image('a'), OCI_MANIFEST);
  const childB = registry.push(image('b'), OCI_MANIFEST);
  const index = indexOf(childA, childB);
  const multi = registry.push(index, OCI_INDEX);
  const stray = registry.push(image('s'), OCI_MANIFEST); // in the registry, listed by nothing signed

  const sim = new RepoSimulator('docker.io/library/sim');
  sim.addDelegation('targets/releases');
  sim.addTarget('targets/releases', 'v1', image('1'));
  sim.addTarget('targets/releases', 'multi', index);
  sim.publish();

  const results = new MemoryResultCache();
  const source = new NotaryTrustSource({ updaterFor: () => updaterFor(sim), refreshIntervalMs: 60_000 });
  const manifests = new ManifestService({ trustFor: () => source, results, maxBytes: 4 << 20, refreshIntervalMs: 60_000 });
  const target: PullTarget = {
    upstream,
    repository: REPO,
    gun: sim.gun,
    decision: { action: 'verify', roles: DOCKER_ROLES, pinning: NO_PINNING, rule: '*' },
    accept: undefined,
  };
  return { registry, sim, results, manifests, target, digests: { v1, childA, childB, multi, stray }, index };
}

t.test('a signed tag is served with the signed bytes (control)', async (t) => {
  const w = await world(t);
  const served = await w.manifests.get(w.target, 'v1');
  t.equal(served.digest, w.digests.v1);
  t.same(served.body, image('1'));
  t.equal(served.role, 'targets/releases');
  t.ok(w.registry.requests.includes(`/v2/${REPO}/manifests/${w.digests.v1}`), 'fetched by the signed digest');
});

// ---- bytes are hashed, whatever the upstream says ------------------------------------------

const tampered = (b: Buffer) => {
  const out = Buffer.from(b);
  out[out.length - 2] = (out[out.length - 2] as number) ^ 0x20;
  return out;
};

t.test('other bytes for the signed digest are refused, by tag and by digest, and not cached', async (t) => {
  const w = await world(t);
  w.registry.serve(w.digests.v1, { body: image('2'), mediaType: OCI_MANIFEST, claimedDigest: null });
  await rejectsWith(t, w.manifests.get(w.target, 'v1'), ManifestMismatchError, 'DIGEST_MISMATCH');
  await rejectsWith(t, w.manifests.get(w.target, w.digests.v1), ManifestMismatchError, 'DIGEST_MISMATCH');
  t.equal(await w.results.getManifest(w.digests.v1), undefined, 'nothing stored');
});

t.test('one flipped byte is refused', async (t) => {
  const w = await world(t);
  w.registry.serve(w.digests.v1, { body: tampered(image('1')), mediaType: OCI_MANIFEST, claimedDigest: null });
  await rejectsWith(t, w.manifests.get(w.target, 'v1'), ManifestMismatchError, 'DIGEST_MISMATCH');
});

t.test("other bytes with a Docker-Content-Digest naming the signed digest: the header is not believed", async (t) => {
  const w = await world(t);
  w.registry.serve(w.digests.v1, { body: image('2'), mediaType: OCI_MANIFEST, claimedDigest: w.digests.v1 });
  await rejectsWith(t, w.manifests.get(w.target, 'v1'), ManifestMismatchError, 'DIGEST_MISMATCH');
  await rejectsWith(t, w.manifests.get(w.target, w.digests.v1), ManifestMismatchError, 'DIGEST_MISMATCH');
});

t.test('the signed bytes with a Docker-Content-Digest naming other content: an upstream that lies is refused', async (t) => {
  const w = await world(t);
  w.registry.serve(w.digests.v1, { body: image('1'), mediaType: OCI_MANIFEST, claimedDigest: digestOf(image('2')) });
  await rejectsWith(t, w.manifests.get(w.target, 'v1'), ManifestMismatchError, 'DIGEST_MISMATCH');
});

t.test('bytes of another length than the signed one are refused', async (t) => {
  const w = await world(t);
  w.sim.beforeSign.set('targets/releases', (s) => (((s.targets as JsonObject).v1 as JsonObject).length = image('1').length - 1));
  w.sim.publish();
  await rejectsWith(t, w.manifests.get(w.target, 'v1'), ManifestMismatchError, 'DIGEST_MISMATCH');
});

t.test('a cached copy that does not hash to its digest is not served: fetched and hashed again', async (t) => {
  const w = await world(t);
  await w.results.putManifest(w.digests.v1, { mediaType: OCI_MANIFEST, body: image('2') }); // a forged shared-cache entry
  const served = await w.manifests.get(w.target, 'v1');
  t.same(served.body, image('1'));
  t.ok(w.registry.requests.includes(`/v2/${REPO}/manifests/${w.digests.v1}`), 'the upstream was asked');
});

// ---- children of an index --------------------------------------------------------------------

t.test('a child is refused until its index is verified, then served as its child', async (t) => {
  const w = await world(t);
  await rejectsWith(t, w.manifests.get(w.target, w.digests.childA), PolicyDeniedError, 'DIGEST_NOT_SIGNED');
  t.equal((await w.manifests.get(w.target, 'multi')).digest, w.digests.multi);
  const child = await w.manifests.get(w.target, w.digests.childA);
  t.equal(child.role, 'child');
  t.same(child.body, image('a'));
});

t.test('an index whose bytes do not verify admits no child', async (t) => {
  const w = await world(t);
  const forged = indexOf(w.digests.childA, w.digests.stray); // lists the stray image
  w.registry.serve(w.digests.multi, { body: forged, mediaType: OCI_INDEX, claimedDigest: w.digests.multi });
  await rejectsWith(t, w.manifests.get(w.target, 'multi'), ManifestMismatchError, 'DIGEST_MISMATCH');
  t.same(await w.results.parentHints(w.target.gun, w.digests.stray), [], 'no hint recorded from unverified bytes');
  await rejectsWith(t, w.manifests.get(w.target, w.digests.stray), PolicyDeniedError, 'DIGEST_NOT_SIGNED');
  await rejectsWith(t, w.manifests.get(w.target, w.digests.childA), PolicyDeniedError, 'DIGEST_NOT_SIGNED');
});

t.test('a parent hint naming an index that is not signed admits nothing', async (t) => {
  const w = await world(t);
  const unsignedIndex = w.registry.push(indexOf(w.digests.stray), OCI_INDEX);
  await w.results.addParentHint(w.target.gun, unsignedIndex, [w.digests.stray], 60_000); // forged in the shared cache
  await rejectsWith(t, w.manifests.get(w.target, w.digests.stray), PolicyDeniedError, 'DIGEST_NOT_SIGNED');
});

t.test('a parent hint naming the signed index for a digest it does not list admits nothing', async (t) => {
  const w = await world(t);
  await w.results.addParentHint(w.target.gun, w.digests.multi, [w.digests.stray], 60_000);
  await rejectsWith(t, w.manifests.get(w.target, w.digests.stray), PolicyDeniedError, 'DIGEST_NOT_SIGNED');
});

t.test('a parent hint naming the signed index, whose bytes the upstream now forges: refused, not admitted', async (t) => {
  const w = await world(t);
  await w.results.addParentHint(w.target.gun, w.digests.multi, [w.digests.stray], 60_000);
  w.registry.serve(w.digests.multi, { body: indexOf(w.digests.stray), mediaType: OCI_INDEX, claimedDigest: w.digests.multi });
  await w.results.putManifest(w.digests.multi, { mediaType: OCI_INDEX, body: indexOf(w.digests.stray) }); // and in the cache
  await rejectsWith(t, w.manifests.get(w.target, w.digests.stray), ManifestMismatchError, 'DIGEST_MISMATCH');
});

// What the manifest use case answers besides the hashing (pull/manifests.ts), against an in-process
// registry and a trust source whose verdicts a test sets, on an injected clock: answers reused until
// the refresh interval (or the trust data) ends and refreshed ahead in the background, what each
// answer says of itself (cache, role, system, signers, stale), `allow` repositories, digest admission
// and servable subjects.

import t, { type Test } from 'tap';
import { MemoryResultCache } from '../../src/cache/results.js';
import { ManifestMismatchError, PolicyDeniedError, UnreachableError } from '../../src/errors.js';
import type { Decision } from '../../src/policy/policy.js';
import { ManifestService } from '../../src/pull/manifests.js';
import { SignatureArtifacts } from '../../src/pull/signature-artifacts.js';
import type { PullTarget } from '../../src/pull/target.js';
import { OCI_INDEX, OCI_MANIFEST } from '../../src/registry/media-types.js';
import { DOCKER_ROLES, NO_PINNING } from '../../src/trust/index.js';
import { digestOf, FakeRegistry } from '../helpers/fake-registry.js';
import { rejectsWith } from '../helpers/trust.js';
import { image, indexOf, INTERVAL, Verdicts } from '../helpers/verdicts.js';

const REPO = 'library/answers';

async function world(t: Test, decision: Partial<Decision> = {}) {
  const registry = new FakeRegistry();
  const upstream = await registry.start(t);
  const verdicts = new Verdicts();
  const results = new MemoryResultCache();
  let now = 1_000;
  const artifacts = new SignatureArtifacts(1 << 20);
  const manifests = new ManifestService({ trustFor: () => verdicts.source, results, maxBytes: 1 << 20, refreshIntervalMs: INTERVAL, clock: () => now, artifacts });
  artifacts.bind((p, d) => manifests.servable(p, d));
  const target: PullTarget = { upstream, repository: REPO, gun: `docker.io/${REPO}`, decision: { action: 'verify', roles: DOCKER_ROLES, pinning: NO_PINNING, rule: '*', ...decision }, accept: undefined };
  const v1 = registry.push(image('1'), OCI_MANIFEST);
  verdicts.tags.set('v1', { digest: v1, length: image('1').length });
  verdicts.verifiedAt = now;
  return { registry, verdicts, results, manifests, target, v1, at: (ms: number) => (now = ms), now: () => now };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

t.test('a tag answer is reused without asking anyone until the refresh interval ends', async (t) => {
  const w = await world(t);
  const first = await w.manifests.get(w.target, 'v1');
  t.same({ cache: first.cache, role: first.role, system: first.system, signers: first.signers, stale: 'stale' in first }, { cache: 'miss', role: 'targets/releases', system: 'notary', signers: ['k1'], stale: false });
  w.at(1_000 + INTERVAL / 2 - 1);
  const hot = await w.manifests.get(w.target, 'v1');
  t.equal(hot.cache, 'hot');
  t.same(hot.body, image('1'));
  t.same(w.verdicts.asked, ['v1'], 'asked once');
  w.at(1_000 + INTERVAL);
  t.equal((await w.manifests.get(w.target, 'v1')).cache, 'miss', 'the interval is over: verified again');
  t.same(w.verdicts.asked, ['v1', 'v1']);
});

t.test('from half the interval on, a pull also refreshes the trust data ahead, once', async (t) => {
  const w = await world(t);
  await w.manifests.get(w.target, 'v1');
  w.at(1_000 + INTERVAL / 2);
  t.equal((await w.manifests.get(w.target, 'v1')).cache, 'hot');
  t.equal((await w.manifests.get(w.target, 'v1')).cache, 'hot');
  await settle();
  t.same(w.verdicts.asked, ['v1', 'v1'], 'one refresh ahead, in the background');
});

t.test('a refresh ahead that fails drops the answer: the next pull asks again', async (t) => {
  const w = await world(t);
  await w.manifests.get(w.target, 'v1');
  w.verdicts.failing = true;
  w.at(1_000 + INTERVAL / 2);
  t.equal((await w.manifests.get(w.target, 'v1')).cache, 'hot');
  await settle();
  await rejectsWith(t, w.manifests.get(w.target, 'v1'), UnreachableError, 'UNREACHABLE');
});

t.test('trust data expiring before the interval ends bounds the reuse; already expired, none', async (t) => {
  const w = await world(t);
  w.verdicts.expires = 1_000 + 10;
  await w.manifests.get(w.target, 'v1');
  w.at(1_000 + 10);
  await w.manifests.get(w.target, 'v1');
  t.same(w.verdicts.asked, ['v1', 'v1']);
  w.verdicts.verifiedAt = 1_000 + 10 - INTERVAL; // verified a whole interval ago
  w.verdicts.expires = Number.MAX_SAFE_INTEGER;
  await w.manifests.get(w.target, 'v1');
  await w.manifests.get(w.target, 'v1');
  t.same(w.verdicts.asked, ['v1', 'v1', 'v1', 'v1'], 'never reused');
});

t.test('answers are kept apart by the roles the policy accepts, and forgotten on invalidate', async (t) => {
  const w = await world(t);
  await w.manifests.get(w.target, 'v1');
  await w.manifests.get({ ...w.target, decision: { ...w.target.decision, roles: ['targets'] } }, 'v1');
  t.equal(w.verdicts.asked.length, 2);
  w.manifests.invalidate();
  await w.manifests.get(w.target, 'v1');
  t.equal(w.verdicts.asked.length, 3);
});

t.test('cache: a hit only when the verdict and the bytes both came from the shared cache; stale passed on', async (t) => {
  const w = await world(t);
  w.verdicts.tags.set('v1', { digest: w.v1, cache: 'hit', stale: true });
  const first = await w.manifests.get(w.target, 'v1');
  t.equal(first.cache, 'miss', 'bytes fetched');
  t.equal(first.stale, true);
  w.manifests.invalidate();
  t.equal((await w.manifests.get(w.target, 'v1')).cache, 'hit');
  w.manifests.invalidate();
  w.verdicts.tags.set('v1', { digest: w.v1, cache: 'miss' });
  t.equal((await w.manifests.get(w.target, 'v1')).cache, 'miss', 'verified just now');
});

t.test('by digest: a signed digest, a hit from the shared cache the second time, and its children noted while trusted', async (t) => {
  const w = await world(t);
  const child = w.registry.push(image('c'), OCI_MANIFEST);
  const index = w.registry.push(indexOf(child), OCI_INDEX);
  w.verdicts.signed.add(index);
  const served = await w.manifests.get(w.target, index);
  t.same({ role: served.role, cache: served.cache, mediaType: served.mediaType }, { role: 'signed-digest', cache: 'miss', mediaType: OCI_INDEX });
  t.same(await w.results.parentHints(w.target.gun, child), [index]);
  w.manifests.invalidate();
  t.equal((await w.manifests.get(w.target, index)).cache, 'hit');
  t.equal((await w.manifests.get(w.target, child)).role, 'child');
  t.equal(await w.manifests.servable(w.target, child), true);
  t.equal(await w.manifests.servable(w.target, index), true);
  t.equal(await w.manifests.servable(w.target, digestOf(image('x'))), false);
  // trust data already expired: no hint recorded
  const w2 = await world(t);
  const child2 = w2.registry.push(image('d'), OCI_MANIFEST);
  const index2 = w2.registry.push(indexOf(child2), OCI_INDEX);
  w2.verdicts.signed.add(index2);
  w2.verdicts.expires = w2.now();
  await w2.manifests.get(w2.target, index2);
  t.same(await w2.results.parentHints(w2.target.gun, child2), []);
});

t.test('parent hints that are not digests, or name the child itself, admit nothing', async (t) => {
  const w = await world(t);
  const child = w.registry.push(image('e'), OCI_MANIFEST);
  w.verdicts.signed.add('v1');
  await w.results.addParentHint(w.target.gun, 'v1', [child], 60_000);
  await w.results.addParentHint(w.target.gun, child, [child], 60_000);
  await rejectsWith(t, w.manifests.get(w.target, child), PolicyDeniedError, 'DIGEST_NOT_SIGNED');
  t.notOk(w.verdicts.asked.includes('v1'), 'a hint that is no digest is not even asked about');
  // a signed parent that is an image, not an index, lists no children
  w.verdicts.signed.add(w.v1);
  await w.results.addParentHint(w.target.gun, w.v1, [child], 60_000);
  await rejectsWith(t, w.manifests.get(w.target, child), PolicyDeniedError, 'DIGEST_NOT_SIGNED');
});

t.test('by digest: a referrer of a servable subject is served as a signature artifact under Sigstore', async (t) => {
  const w = await world(t, { trust: 'sigstore' });
  w.verdicts.signed.add(w.v1);
  const referrer = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, layers: [], subject: { digest: w.v1 } }));
  const digest = w.registry.push(referrer, OCI_MANIFEST);
  t.equal((await w.manifests.get(w.target, digest)).role, 'signature-artifact');
  w.registry.push(Buffer.from('{}'), OCI_MANIFEST, `sha256-${w.v1.slice(7)}.sig`);
  t.equal((await w.manifests.get(w.target, `sha256-${w.v1.slice(7)}.sig`)).role, 'signature-artifact');
});

t.test('allow: served unverified, hashed for its digest; a digest reference must match its bytes', async (t) => {
  const w = await world(t, { action: 'allow' });
  w.registry.push(image('2'), OCI_MANIFEST, 'latest');
  const served = await w.manifests.get(w.target, 'latest');
  t.same({ digest: served.digest, role: served.role, cache: served.cache, mediaType: served.mediaType }, { digest: digestOf(image('2')), role: 'unverified', cache: 'miss', mediaType: OCI_MANIFEST });
  t.same(w.verdicts.asked, [], 'no trust source asked');
  const bare = w.registry.push('{"schemaVersion":2}', '', 'bare');
  t.equal((await w.manifests.get(w.target, 'bare')).mediaType, 'application/vnd.oci.image.manifest.v1+json', 'neither declared nor sent: an OCI manifest');
  t.equal((await w.manifests.get(w.target, bare)).digest, bare);
  w.registry.serve(w.v1, { body: image('3'), mediaType: OCI_MANIFEST });
  await rejectsWith(t, w.manifests.get(w.target, w.v1), ManifestMismatchError, 'DIGEST_MISMATCH');
});

t.test('concurrent pulls of different digests each get their own bytes (one fetch at a time per digest only)', async (t) => {
  const w = await world(t);
  const v2 = w.registry.push(image('2'), OCI_MANIFEST);
  w.verdicts.signed.add(w.v1);
  w.verdicts.signed.add(v2);
  const [a, b] = await Promise.all([w.manifests.get(w.target, w.v1), w.manifests.get(w.target, v2)]);
  t.same([a.digest, digestOf(a.body)], [w.v1, w.v1]);
  t.same([b.digest, digestOf(b.body)], [v2, v2]);
});

t.test('a refresh ahead that verifies the same answer again keeps it warm from then; another digest drops it', async (t) => {
  const w = await world(t);
  await w.manifests.get(w.target, 'v1');
  w.at(1_000 + INTERVAL / 2);
  w.verdicts.verifiedAt = w.now(); // the trust source verified the tag again just now (Sigstore resolves at the registry)
  t.equal((await w.manifests.get(w.target, 'v1')).cache, 'hot', 'served while the refresh runs');
  await settle();

  // past the first interval; the registry meanwhile re-pointed the tag
  w.at(1_000 + INTERVAL + 1);
  const v2 = w.registry.push(image('2'), OCI_MANIFEST);
  w.verdicts.tags.set('v1', { digest: v2, length: image('2').length });
  w.verdicts.verifiedAt = w.now();
  const warm = await w.manifests.get(w.target, 'v1');
  t.same({ digest: warm.digest, cache: warm.cache }, { digest: w.v1, cache: 'hot' }, 'still warm past the first interval, and asked again');
  await settle();
  const after = await w.manifests.get(w.target, 'v1');
  t.same({ digest: after.digest, cache: after.cache }, { digest: v2, cache: 'miss' }, 'the re-pointed tag is resolved again at once');
});

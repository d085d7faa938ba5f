// How a warm answer of the manifest use case (pull/manifests.ts) lives and ends: forgotten per
// repository (and only there) on invalidate, never offered by `warm()` to an `allow` decision, never
// kept when worked out across an invalidation, refreshed ahead for a digest through the digest
// question, kept by a refresh ahead only for the very same signed answer (digest, role, system,
// grace) and then with its index's parent hints renewed, and never put back by a refresh ahead once
// another answer has taken its place.

import t, { type Test } from 'tap';
import { UnreachableError } from '../../src/errors.js';
import type { PullTarget } from '../../src/pull/target.js';
import type { TagVerdict } from '../../src/pull/trust-source.js';
import { OCI_INDEX, OCI_MANIFEST } from '../../src/registry/media-types.js';
import { rejectsWith } from '../helpers/trust.js';
import { image, indexOf, INTERVAL, START, world as verdictWorld } from '../helpers/verdicts.js';

/** The shared verdict world (test/helpers/verdicts.ts) with library/warm's v1 pushed and signed. */
async function world(t: Test) {
  const w = await verdictWorld(t, { noArtifacts: true, maxHints: 1_000, repository: 'library/warm' });
  const v1 = w.registry.push(image('1'), OCI_MANIFEST);
  w.verdicts.tags.set('v1', { digest: v1 });
  return { ...w, answers: w.verdicts, v1 };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

t.test('invalidating some repositories forgets exactly their warm answers', async (t) => {
  const w = await world(t);
  const a = w.targetOf('docker.io/library/a');
  const ab = w.targetOf('docker.io/library/ab'); // its name starts with the other's
  await w.manifests.get(a, 'v1');
  await w.manifests.get(ab, 'v1');
  w.manifests.invalidate(['docker.io/library/a', 'docker.io/library/none']);
  t.equal(w.manifests.warm(a, 'v1'), undefined, 'a named repository: forgotten');
  t.equal(w.manifests.warm(ab, 'v1')?.cache, 'hot', 'a repository not named: still warm');
  t.same(w.answers.asked, ['v1', 'v1'], 'warm() asks no one');
  t.equal((await w.manifests.get(a, 'v1')).cache, 'miss', 'verified again');
  t.equal((await w.manifests.get(ab, 'v1')).cache, 'hot');
});

t.test('warm() offers nothing to an allow decision, even where a verify decision holds a warm answer', async (t) => {
  const w = await world(t);
  await w.manifests.get(w.target, 'v1');
  const allow: PullTarget = { ...w.target, decision: { ...w.target.decision, action: 'allow' } };
  t.equal(w.manifests.warm(w.target, 'v1')?.cache, 'hot');
  t.equal(w.manifests.warm(allow, 'v1'), undefined);
});

t.test('an answer worked out across an invalidation is served once, not kept', async (t) => {
  const w = await world(t);
  const pending = w.manifests.get(w.target, 'v1');
  w.manifests.invalidate();
  t.equal((await pending).digest, w.v1);
  t.equal(w.manifests.warm(w.target, 'v1'), undefined);
  t.equal((await w.manifests.get(w.target, 'v1')).cache, 'miss');
});

t.test('a warm digest is refreshed ahead through the digest question and stays warm', async (t) => {
  const w = await world(t);
  w.answers.signed.add(w.v1);
  await w.manifests.get(w.target, w.v1);
  w.at(START + INTERVAL / 2);
  t.equal((await w.manifests.get(w.target, w.v1)).cache, 'hot');
  await settle();
  t.same(w.answers.asked, [w.v1, w.v1], 'the digest question, twice');
  t.equal((await w.manifests.get(w.target, w.v1)).cache, 'hot');
});

t.test('a refresh ahead of a warm digest that fails drops it', async (t) => {
  const w = await world(t);
  w.answers.signed.add(w.v1);
  await w.manifests.get(w.target, w.v1);
  w.at(START + INTERVAL / 2);
  w.answers.failing = true;
  t.equal((await w.manifests.get(w.target, w.v1)).cache, 'hot');
  await settle();
  t.equal(w.manifests.warm(w.target, w.v1), undefined);
  await rejectsWith(t, w.manifests.get(w.target, w.v1), UnreachableError, 'UNREACHABLE');
});

/** What the refresh ahead answers, and what the answer verified again then says of itself. */
const changes: [string, Partial<TagVerdict>, object][] = [
  ['another signing role', { signedBy: 'targets' }, { role: 'targets' }],
  ['another trust system', { system: 'notary+sigstore' }, { system: 'notary+sigstore' }],
  ['now under an offline grace', { stale: true }, { stale: true }],
];

for (const [why, change, served] of changes) {
  t.test(`a refresh ahead that answers with ${why} drops the warm answer`, async (t) => {
    const w = await world(t);
    await w.manifests.get(w.target, 'v1');
    w.at(START + INTERVAL / 2);
    w.answers.verifiedAt = w.now();
    w.answers.tags.set('v1', { digest: w.v1, ...change });
    t.equal((await w.manifests.get(w.target, 'v1')).cache, 'hot');
    await settle();
    t.equal(w.manifests.warm(w.target, 'v1'), undefined);
    const again = await w.manifests.get(w.target, 'v1');
    t.same({ cache: again.cache, role: again.role, system: again.system, stale: again.stale }, { cache: 'miss', role: 'targets/releases', system: 'notary', stale: undefined, ...served });
  });
}

t.test('the same answer again keeps the answer warm (control)', async (t) => {
  const w = await world(t);
  await w.manifests.get(w.target, 'v1');
  w.at(START + INTERVAL / 2);
  w.answers.verifiedAt = w.now();
  w.answers.tags.set('v1', { digest: w.v1, stale: false, signers: ['k2'] });
  t.equal((await w.manifests.get(w.target, 'v1')).cache, 'hot');
  await settle();
  w.at(START + INTERVAL);
  const warm = await w.manifests.get(w.target, 'v1');
  t.same({ cache: warm.cache, signers: warm.signers }, { cache: 'hot', signers: ['k2'] });
});

t.test('a refresh ahead that confirms a warm index renews its children\'s parent hints to the new expiry', async (t) => {
  const w = await world(t);
  const child = w.registry.push(image('c'), OCI_MANIFEST);
  const index = w.registry.push(indexOf(child), OCI_INDEX);
  w.answers.signed.add(index);
  w.answers.tags.set('multi', { digest: index, expires: START + INTERVAL });
  await w.manifests.get(w.target, 'multi');
  w.at(START + INTERVAL / 2);
  w.answers.verifiedAt = w.now();
  w.answers.tags.set('multi', { digest: index, expires: w.now() + 10 * INTERVAL });
  t.equal((await w.manifests.get(w.target, 'multi')).cache, 'hot');
  await settle();
  w.at(START + INTERVAL + 1); // the first verdict's trust data, and the hints it noted, are over
  t.same(await w.results.parentHints(w.target.gun, child), [index]);
  t.equal((await w.manifests.get(w.target, child)).role, 'child');
});

t.test('a refresh ahead that ends after another answer took the warm one\'s place does not put the old one back', async (t) => {
  const w = await world(t);
  await w.manifests.get(w.target, 'v1');
  w.at(START + INTERVAL / 2);
  w.answers.verifiedAt = w.now();
  let release = () => {};
  w.answers.hold = new Promise<void>((resolve) => (release = resolve));
  t.equal((await w.manifests.get(w.target, 'v1')).digest, w.v1, 'served warm; the refresh ahead is held');
  w.answers.hold = undefined;
  // the interval ends and the registry re-pointed the tag: a new answer is verified and kept
  w.at(START + INTERVAL);
  const v2 = w.registry.push(image('2'), OCI_MANIFEST);
  w.answers.tags.set('v1', { digest: v2 });
  w.answers.verifiedAt = w.now();
  t.same(await w.manifests.get(w.target, 'v1').then((m) => [m.digest, m.cache]), [v2, 'miss']);
  release(); // the held refresh now confirms the old answer it was asked about
  await settle();
  t.same(await w.manifests.get(w.target, 'v1').then((m) => [m.digest, m.cache]), [v2, 'hot']);
});

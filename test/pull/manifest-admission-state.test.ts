// What the manifest use case keeps and passes on besides the bytes (pull/manifests.ts): the offline
// grace of a digest answer, which verified indexes note parent hints (only signed indexes, only while
// their trust data lasts, never pushing live hints out), warm answers kept apart by the exact roles
// and never pushed out by an answer that is already over, and artifact-looking tags where no
// signature-artifact service runs.

import t from 'tap';
import { PolicyDeniedError } from '../../src/errors.js';
import { OCI_INDEX, OCI_MANIFEST } from '../../src/registry/media-types.js';
import { rejectsWith } from '../helpers/trust.js';
import { image, indexOf, INTERVAL, START, world } from '../helpers/verdicts.js';

t.test('by digest under an offline grace: a signed digest and a child of a signed index are served stale', async (t) => {
  const w = await world(t);
  const child = w.registry.push(image('c'), OCI_MANIFEST);
  const index = w.registry.push(indexOf(child), OCI_INDEX);
  w.verdicts.signed.add(index);
  w.verdicts.stale = true;
  t.equal((await w.manifests.get(w.target, index)).stale, true);
  const served = await w.manifests.get(w.target, child);
  t.same({ role: served.role, stale: served.stale }, { role: 'child', stale: true });
});

t.test('an index admitted only as a child notes no hints for its own children', async (t) => {
  const w = await world(t);
  const leaf = w.registry.push(image('l'), OCI_MANIFEST);
  const inner = w.registry.push(indexOf(leaf), OCI_INDEX);
  const outer = w.registry.push(indexOf(inner), OCI_INDEX);
  w.verdicts.signed.add(outer);
  await w.manifests.get(w.target, outer);
  t.equal((await w.manifests.get(w.target, inner)).role, 'child');
  t.same(await w.results.parentHints(w.target.gun, leaf), [], 'nothing noted from an index nobody signed');
  await rejectsWith(t, w.manifests.get(w.target, leaf), PolicyDeniedError, 'DIGEST_NOT_SIGNED');
});

t.test('a parent hint naming the child itself is not asked about again', async (t) => {
  const w = await world(t);
  const child = w.registry.push(image('e'), OCI_MANIFEST);
  await w.results.addParentHint(w.target.gun, child, [child], INTERVAL); // forged in the shared cache
  await rejectsWith(t, w.manifests.get(w.target, child), PolicyDeniedError, 'DIGEST_NOT_SIGNED');
  t.same(w.verdicts.asked, [child], 'asked once, about the digest pulled');
});

t.test('a signed image manifest that carries a manifests list notes no parent hints', async (t) => {
  const w = await world(t);
  const listed = w.registry.push(image('x'), OCI_MANIFEST);
  const odd = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, layers: [], manifests: [{ mediaType: OCI_MANIFEST, digest: listed, size: 1 }] }));
  w.verdicts.tags.set('odd', { digest: w.registry.push(odd, OCI_MANIFEST), length: odd.length });
  await w.manifests.get(w.target, 'odd');
  t.same(await w.results.parentHints(w.target.gun, listed), []);
  await rejectsWith(t, w.manifests.get(w.target, listed), PolicyDeniedError, 'DIGEST_NOT_SIGNED');
});

t.test('an index verified under trust data that ends now notes no hint, so no live hint is pushed out', async (t) => {
  const w = await world(t, { maxHints: 1 });
  const first = w.registry.push(image('1'), OCI_MANIFEST);
  const firstIndex = w.registry.push(indexOf(first), OCI_INDEX);
  const second = w.registry.push(image('2'), OCI_MANIFEST);
  const secondIndex = w.registry.push(indexOf(second), OCI_INDEX);
  w.verdicts.signed.add(firstIndex);
  w.verdicts.signed.add(secondIndex);
  await w.manifests.get(w.target, firstIndex);
  t.same(await w.results.parentHints(w.target.gun, first), [firstIndex]);
  w.verdicts.expires = w.now(); // the trust data behind the next verdict ends this very moment
  await w.manifests.get(w.target, secondIndex);
  t.same(await w.results.parentHints(w.target.gun, second), []);
  t.same(await w.results.parentHints(w.target.gun, first), [firstIndex], 'the live hint is kept');
  t.equal((await w.manifests.get(w.target, first)).role, 'child');
});

t.test('an answer whose trust data is over as it is verified is not kept, so no warm answer is pushed out', async (t) => {
  const w = await world(t, { maxHot: 1 });
  const v1 = w.registry.push(image('1'), OCI_MANIFEST);
  const old = w.registry.push(image('o'), OCI_MANIFEST);
  w.verdicts.tags.set('v1', { digest: v1, length: image('1').length });
  w.verdicts.tags.set('old', { digest: old, length: image('o').length, verifiedAt: START + 10 - INTERVAL });
  await w.manifests.get(w.target, 'v1');
  w.at(START + 10); // 'old' was verified exactly one refresh interval ago
  t.equal((await w.manifests.get(w.target, 'old')).digest, old);
  t.equal((await w.manifests.get(w.target, 'v1')).cache, 'hot', 'still warm');
  t.same(w.verdicts.asked, ['v1', 'old']);
});

t.test('warm answers are kept apart by the exact list of roles, not their concatenation', async (t) => {
  const w = await world(t);
  const v1 = w.registry.push(image('1'), OCI_MANIFEST);
  w.verdicts.tags.set('v1', { digest: v1, length: image('1').length, roles: 'targets/a,targets/b' });
  const two = { ...w.target, decision: { ...w.target.decision, roles: ['targets/a', 'targets/b'] } };
  const one = { ...w.target, decision: { ...w.target.decision, roles: ['targets/atargets/b'] } };
  t.equal((await w.manifests.get(two, 'v1')).digest, v1);
  await rejectsWith(t, w.manifests.get(one, 'v1'), PolicyDeniedError, 'DIGEST_NOT_SIGNED');
  t.same(w.verdicts.asked, ['v1', 'v1']);
});

t.test('without a signature-artifact service, an artifact-looking tag is resolved like any tag', async (t) => {
  const w = await world(t, { noArtifacts: true, decision: { trust: 'sigstore' } });
  const sig = w.registry.push(image('s'), OCI_MANIFEST);
  const tag = `sha256-${'5'.repeat(64)}.sig`;
  w.verdicts.tags.set(tag, { digest: sig, length: image('s').length });
  t.same({ digest: (await w.manifests.get(w.target, tag)).digest, warm: w.manifests.warm(w.target, tag)?.cache }, { digest: sig, warm: 'hot' });
  t.same(w.verdicts.asked, [tag]);
});

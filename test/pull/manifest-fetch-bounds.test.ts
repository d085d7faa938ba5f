// How the manifest use case reads a signed digest from the upstream (pull/manifests.ts): at most the
// signed length, never more than maxBytes (by tag and by digest), the signed length checked exactly,
// one fetch at a time per digest *and length*, and the media type the bytes declare over the header.

import t from 'tap';
import { ManifestMismatchError } from '../../src/errors.js';
import { DOCKER_MANIFEST_V2, OCI_INDEX, OCI_MANIFEST } from '../../src/registry/media-types.js';
import { digestOf } from '../helpers/fake-registry.js';
import { rejectsWith } from '../helpers/trust.js';
import { image, world } from '../helpers/verdicts.js';

/** An image manifest of about `size` bytes (its annotation pads it). */
const sized = (size: number) => Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, layers: [], annotations: { pad: 'x'.repeat(size) } }));

t.test('a signed length longer than the bytes is refused, though the bytes hash to the digest', async (t) => {
  const w = await world(t);
  const d = w.registry.push(image('1'), OCI_MANIFEST);
  w.verdicts.tags.set('v1', { digest: d, length: image('1').length + 1 });
  await rejectsWith(t, w.manifests.get(w.target, 'v1'), ManifestMismatchError, 'DIGEST_MISMATCH');
  t.equal(await w.results.getManifest(d), undefined, 'nothing stored');
  w.verdicts.tags.set('v1', { digest: d, length: image('1').length });
  t.equal((await w.manifests.get(w.target, 'v1')).digest, d, 'the exact length is served (control)');
});

t.test('a signed length that disagrees with the bytes is refused when they are cached too', async (t) => {
  const w = await world(t);
  const d = w.registry.push(image('1'), OCI_MANIFEST);
  w.verdicts.tags.set('right', { digest: d, length: image('1').length });
  t.equal((await w.manifests.get(w.target, 'right')).digest, d, 'served, and now cached');
  t.ok(await w.results.getManifest(d), 'the bytes are in the result cache');
  w.verdicts.tags.set('wrong', { digest: d, length: image('1').length + 1 });
  await rejectsWith(t, w.manifests.get(w.target, 'wrong'), ManifestMismatchError, 'DIGEST_MISMATCH');
});

t.test('by tag: a signed length above maxBytes still reads at most maxBytes', async (t) => {
  const w = await world(t, { maxBytes: 200 });
  const big = sized(300);
  const d = w.registry.push(big, OCI_MANIFEST);
  w.verdicts.tags.set('big', { digest: d, length: big.length });
  await rejectsWith(t, w.manifests.get(w.target, 'big'), ManifestMismatchError, 'DIGEST_MISMATCH');
  const small = sized(20);
  w.verdicts.tags.set('small', { digest: w.registry.push(small, OCI_MANIFEST), length: small.length });
  t.same((await w.manifests.get(w.target, 'small')).body, small, 'within maxBytes: served (control)');
});

t.test('by digest (no signed length): at most maxBytes are read', async (t) => {
  const w = await world(t, { maxBytes: 200 });
  const big = sized(300);
  const d = w.registry.push(big, OCI_MANIFEST);
  w.verdicts.signed.add(d);
  await rejectsWith(t, w.manifests.get(w.target, d), ManifestMismatchError, 'DIGEST_MISMATCH');
  const small = w.registry.push(sized(20), OCI_MANIFEST);
  w.verdicts.signed.add(small);
  t.equal((await w.manifests.get(w.target, small)).digest, small, 'within maxBytes: served (control)');
});

t.test('concurrent pulls of one digest signed with different lengths do not share a fetch', async (t) => {
  const w = await world(t);
  const d = w.registry.push(image('1'), OCI_MANIFEST);
  w.verdicts.tags.set('right', { digest: d, length: image('1').length });
  w.verdicts.tags.set('wrong', { digest: d, length: image('1').length + 5 });
  const [right, wrong] = await Promise.allSettled([w.manifests.get(w.target, 'right'), w.manifests.get(w.target, 'wrong')]);
  t.equal(right.status === 'fulfilled' && right.value.digest, d, 'the right length is served');
  t.equal(wrong.status, 'rejected');
  const err = wrong.status === 'rejected' ? (wrong.reason as unknown) : undefined;
  t.ok(err instanceof ManifestMismatchError);
  t.equal((err as ManifestMismatchError | undefined)?.code, 'DIGEST_MISMATCH');
});

t.test('the media type the bytes declare wins over the Content-Type; without one, the Content-Type', async (t) => {
  const w = await world(t);
  const declared = w.registry.push(image('1'), DOCKER_MANIFEST_V2); // declares OCI_MANIFEST in its bytes
  const bare = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [] }));
  const undeclared = w.registry.push(bare, OCI_INDEX);
  w.verdicts.signed.add(declared);
  w.verdicts.signed.add(undeclared);
  t.equal((await w.manifests.get(w.target, declared)).mediaType, OCI_MANIFEST);
  t.equal((await w.manifests.get(w.target, undeclared)).mediaType, OCI_INDEX);
  t.equal(digestOf(bare), undeclared);
});

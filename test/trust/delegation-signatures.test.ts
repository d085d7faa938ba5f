// A delegated role is signed by its own keys at its own threshold — the key IDs and threshold its
// delegator lists for it — never by just any delegation key of the delegator (notary
// tuf/builder.go loadDelegation → signed.VerifySignatures with the role's own BaseRole).

import t from 'tap';
import { TagNotSignedError, UnsignedMetadataError } from '../../src/errors.js';
import type { Targets } from '../../src/trust/index.js';
import { RepoSimulator, SimKey, type SigJson } from '../helpers/simulator.js';
import { rejectsWith, setThroughTargets, throwsWith, updaterFor } from '../helpers/trust.js';

/** targets delegates to targets/releases (tag v2) and to targets/alice, each with its own key. */
function repo(): RepoSimulator {
  const sim = new RepoSimulator();
  sim.addDelegation('targets/releases');
  sim.addDelegation('targets/alice');
  sim.addTarget('targets/releases', 'v2', 'manifest v2');
  sim.addTarget('targets/alice', 'a1', 'alice 1');
  sim.publish();
  return sim;
}

const signedBy = (keys: SimKey[]) => (_sigs: SigJson[], message: Buffer): SigJson[] =>
  keys.map((k) => ({ keyid: k.id, method: k.method, sig: k.sign(message).toString('base64') }));

function releasesSpec(set: ReturnType<typeof setThroughTargets>) {
  const targets = set.targetsFiles.get('targets')?.data as Targets;
  const spec = targets.delegations.find((d) => d.name === 'targets/releases');
  if (!spec) throw new Error('targets lists no targets/releases');
  return spec;
}

t.test("a delegation signed by a sibling delegation's key: the engine refuses it", async (t) => {
  const sim = repo();
  const alice = sim.delegation('targets/alice').keys[0] as SimKey;
  sim.signatureHooks.set('targets/releases', signedBy([alice]));
  sim.publish();
  const set = setThroughTargets(sim);
  const spec = releasesSpec(set);
  t.notOk(spec.keyIds.includes(alice.id), "alice's key is not one of releases' keys");
  t.ok(set.targetsFiles.get('targets')?.data.delegationKeys.has(alice.id), 'but it is a delegation key of targets');
  const err = throwsWith(t, () => set.updateDelegation('targets', spec, sim.files.get('targets/releases') as Buffer, 0), UnsignedMetadataError, 'SIGNATURE_THRESHOLD');
  t.equal(err.role, 'targets/releases');
  t.notOk(set.targetsFiles.has('targets/releases'), 'a failed update leaves the set unchanged');
});

t.test("a delegation signed by a sibling delegation's key: left out, its tag not signed", async (t) => {
  const sim = repo();
  sim.signatureHooks.set('targets/releases', signedBy([sim.delegation('targets/alice').keys[0] as SimKey]));
  sim.publish();
  const refresh = await updaterFor(sim).refresh(sim.gun);
  t.ok(refresh.skipped.get('targets/releases') instanceof UnsignedMetadataError, 'skipped as under-signed');
  const err = await rejectsWith(t, updaterFor(sim).resolve(sim.gun, 'v2'), TagNotSignedError, 'NOT_SIGNED');
  t.ok(err.cause instanceof UnsignedMetadataError);
});

t.test('a delegation signed by its own key verifies (control)', async (t) => {
  const sim = repo();
  const set = setThroughTargets(sim);
  const v = set.updateDelegation('targets', releasesSpec(set), sim.files.get('targets/releases') as Buffer, 0);
  t.same(v.signers, [(sim.delegation('targets/releases').keys[0] as SimKey).id]);
});

/** targets/releases with two keys and threshold 2. */
function twoOfTwo(): RepoSimulator {
  const sim = new RepoSimulator();
  sim.addDelegation('targets/releases', {
    keys: [SimKey.generate('ecdsa-x509', { cn: 'releases' }), SimKey.generate('ecdsa-x509', { cn: 'releases' })],
    threshold: 2,
  });
  sim.addTarget('targets/releases', 'v2', 'manifest v2');
  sim.publish();
  return sim;
}

t.test('a delegation with threshold 2 signed by one of its keys: the engine refuses it', async (t) => {
  const sim = twoOfTwo();
  sim.signatureHooks.set('targets/releases', (sigs) => sigs.slice(0, 1));
  sim.publish();
  const set = setThroughTargets(sim);
  const spec = releasesSpec(set);
  t.equal(spec.threshold, 2);
  throwsWith(t, () => set.updateDelegation('targets', spec, sim.files.get('targets/releases') as Buffer, 0), UnsignedMetadataError, 'SIGNATURE_THRESHOLD');
});

t.test('a delegation with threshold 2 signed by one key twice: refused', async (t) => {
  const sim = twoOfTwo();
  sim.signatureHooks.set('targets/releases', (sigs) => [sigs[0] as SigJson, sigs[0] as SigJson]);
  sim.publish();
  const set = setThroughTargets(sim);
  throwsWith(t, () => set.updateDelegation('targets', releasesSpec(set), sim.files.get('targets/releases') as Buffer, 0), UnsignedMetadataError, 'SIGNATURE_THRESHOLD');
});

t.test('a delegation with threshold 2 signed by one of its keys: left out, its tag not signed', async (t) => {
  const sim = twoOfTwo();
  sim.signatureHooks.set('targets/releases', (sigs) => sigs.slice(1));
  sim.publish();
  const err = await rejectsWith(t, updaterFor(sim).resolve(sim.gun, 'v2'), TagNotSignedError, 'NOT_SIGNED');
  t.ok(err.cause instanceof UnsignedMetadataError);
});

t.test('a delegation with threshold 2 signed by both keys resolves (control)', async (t) => {
  const sim = twoOfTwo();
  const r = await updaterFor(sim).resolve(sim.gun, 'v2');
  t.equal(r.role, 'targets/releases');
  t.equal(r.signers.length, 2);
});

// updateDelegation takes the delegation's spec from its caller: key IDs the spec lists that the
// delegating file holds no key for count for nothing (notary: only keys the delegator declares verify
// a delegation), whatever else the spec lists.

import t from 'tap';
import { UnsignedMetadataError } from '../../src/errors.js';
import { NO_PINNING, TrustedMetadataSet, type DelegationSpec, type Targets } from '../../src/trust/index.js';
import { RepoSimulator } from '../helpers/simulator.js';
import { throwsWith } from '../helpers/trust.js';

const RELEASES = 'targets/releases';
const ABSENT_KEY_ID = 'ab'.repeat(32);

function loadedThroughTargets(): { sim: RepoSimulator; set: TrustedMetadataSet; spec: DelegationSpec } {
  const sim = new RepoSimulator();
  sim.addDelegation(RELEASES);
  sim.addTarget(RELEASES, 'v1', 'manifest v1');
  sim.publish();
  const file = (name: string) => sim.files.get(name) as Buffer;
  const set = TrustedMetadataSet.fromRoot(file('root'), { gun: sim.gun, now: sim.now, pinning: NO_PINNING }, false);
  set.updateTimestamp(file('timestamp'), 0);
  set.updateSnapshot(file('snapshot'), 0);
  const targets: Targets = set.updateTargets(file('targets'), 0).data;
  const spec = targets.delegations.find((d) => d.name === RELEASES) as DelegationSpec;
  return { sim, set, spec };
}

t.test('a listed key ID the delegator has no key for is skipped; the real key still verifies', async (t) => {
  const { sim, set, spec } = loadedThroughTargets();
  t.equal(spec.keyIds.length, 1);
  t.notOk(set.targetsFiles.get('targets')?.data.delegationKeys.has(ABSENT_KEY_ID));
  const wider = { ...spec, keyIds: [ABSENT_KEY_ID, ...spec.keyIds] };
  const v = set.updateDelegation('targets', wider, sim.files.get(RELEASES) as Buffer, 0);
  t.same(v.signers, spec.keyIds, 'signed by the delegation key only');
  t.ok(v.data.targets.get('v1'), 'the delegation is loaded');
  t.equal(set.targetsFiles.get(RELEASES), v);
});

t.test('a spec listing only key IDs the delegator lacks leaves the delegation unsigned', async (t) => {
  const { sim, set, spec } = loadedThroughTargets();
  const foreign = { ...spec, keyIds: [ABSENT_KEY_ID] };
  const err = throwsWith(t, () => set.updateDelegation('targets', foreign, sim.files.get(RELEASES) as Buffer, 0), UnsignedMetadataError, 'SIGNATURE_THRESHOLD');
  t.equal(err.role, RELEASES);
  t.equal(set.targetsFiles.has(RELEASES), false, 'a failed update leaves the set unchanged');
});

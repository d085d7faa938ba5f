// signedDigests signs only through the chain of delegations from `targets` down (notary
// RestrictDelegationPathPrefixes): a role file that is loaded but that its parent does not declare
// (a caller passing a spec of its own to updateDelegation) has no delegated paths, so it signs no
// digest, whatever names it lists. The same file, once declared, signs them all.

import t from 'tap';
import { signedDigests, type JsonObject } from '../../src/trust/index.js';
import { RepoSimulator, type SimKey } from '../helpers/simulator.js';
import { setThroughTargets } from '../helpers/trust.js';

// names of every shape: empty, tag-like, digest-like, with spaces and capitals
const NAMES = ['', 'v1', 'latest', 'prod-1.2', 'sha256-abc', 'Stryker was here', 'A name with spaces', 'ü'];

function releasesListing(declared: boolean) {
  const sim = new RepoSimulator();
  const releases = sim.addDelegation('targets/releases');
  const digests = NAMES.map((name) => sim.addTarget('targets/releases', name, `manifest ${name}`));
  if (!declared) {
    sim.beforeSign.set('targets', (s) => {
      (s.delegations as JsonObject).roles = []; // the key stays, the role is not declared
    });
  }
  sim.publish();
  const set = setThroughTargets(sim);
  const spec = { name: 'targets/releases', keyIds: [(releases.keys[0] as SimKey).id], threshold: 1, paths: [''] };
  set.updateDelegation('targets', spec, sim.files.get('targets/releases') as Buffer, 0);
  return { set, digests };
}

t.test('a loaded role its parent does not declare signs no digest', async (t) => {
  const { set } = releasesListing(false);
  t.ok(set.targetsFiles.has('targets/releases'), 'loaded');
  t.equal(signedDigests(set).size, 0);
  t.equal(signedDigests(set, ['targets/releases']).size, 0);
});

t.test('declared, the same listing signs every name', async (t) => {
  const { set, digests } = releasesListing(true);
  t.same([...signedDigests(set, ['targets/releases']).keys()].sort(), [...digests].sort());
});

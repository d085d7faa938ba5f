// A pull by digest is admitted only for a digest signed in a role the policy accepts for tags
// (`targets/releases`, `targets`, or fewer): a digest listed only in another delegation, or only in a
// role the policy's `roles` leave out, is not signed for this repository.

import t from 'tap';
import { MemoryResultCache } from '../../src/cache/results.js';
import { TrustService } from '../../src/pull/trust.js';
import { DOCKER_ROLES } from '../../src/trust/index.js';
import { RepoSimulator } from '../helpers/simulator.js';
import { updaterFor } from '../helpers/trust.js';

/** Digests signed in targets, targets/releases, a sibling delegation and a child of releases. */
function repo() {
  const sim = new RepoSimulator();
  sim.addDelegation('targets/releases');
  sim.addDelegation('targets/releases/bot');
  sim.addDelegation('targets/alice');
  const digests = {
    targets: sim.addTarget('targets', 'v1', 'manifest in targets'),
    releases: sim.addTarget('targets/releases', 'v2', 'manifest in releases'),
    bot: sim.addTarget('targets/releases/bot', 'v3', 'manifest in releases/bot'),
    alice: sim.addTarget('targets/alice', 'a1', 'manifest in alice'),
  };
  sim.publish();
  const trust = new TrustService({ updaterFor: () => updaterFor(sim), results: new MemoryResultCache(), refreshIntervalMs: 60_000 });
  const admits = (digest: string, roles: readonly string[] = DOCKER_ROLES) => trust.isSignedDigest('default', sim.gun, digest, roles);
  return { sim, digests, admits };
}

t.test('digests signed in targets/releases or targets are admitted (control)', async (t) => {
  const { digests, admits } = repo();
  t.equal(await admits(digests.releases), true);
  t.equal(await admits(digests.targets), true);
});

t.test('a digest signed only in another delegation is not admitted', async (t) => {
  const { digests, admits } = repo();
  t.equal(await admits(digests.alice), false, 'targets/alice');
  t.equal(await admits(digests.bot), false, 'targets/releases/bot, below releases');
});

t.test("a digest signed only in a role the policy's roles leave out is not admitted", async (t) => {
  const { digests, admits } = repo();
  t.equal(await admits(digests.targets, ['targets/releases']), false, 'targets, policy accepts releases only');
  t.equal(await admits(digests.releases, ['targets/releases']), true);
  t.equal(await admits(digests.releases, ['targets']), false, 'targets/releases, policy accepts targets only');
});

t.test('a digest signed nowhere is not admitted', async (t) => {
  const { admits } = repo();
  t.equal(await admits(`sha256:${'0'.repeat(64)}`), false);
});

// The digests a repository signs for pulls by digest (signedDigests): only in the roles the policy
// accepts for tags (`targets/releases`, `targets`, or fewer), only under names inside each role's
// delegated paths, only entries with a valid sha256. A digest listed only in another delegation, or
// only in a role the policy's `roles` leave out, is not signed for the repository.

import t from 'tap';
import { DOCKER_ROLES, signedDigests, type JsonObject } from '../../src/trust/index.js';
import { RepoSimulator } from '../helpers/simulator.js';
import { updaterFor } from '../helpers/trust.js';

/** Digests signed in targets, targets/releases, a sibling delegation and a child of releases. */
async function repo() {
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
  const { set } = await updaterFor(sim).refresh(sim.gun);
  t.same([...set.targetsFiles.keys()].sort(), ['targets', 'targets/alice', 'targets/releases', 'targets/releases/bot'], 'every file loaded');
  return { sim, set, digests };
}

t.test('digests signed in targets/releases or targets are signed, by the role that lists them', async (t) => {
  const { set, digests } = await repo();
  const signed = signedDigests(set, DOCKER_ROLES);
  t.equal(signed.get(digests.releases), 'targets/releases');
  t.equal(signed.get(digests.targets), 'targets');
  t.same(signedDigests(set), signed, "Docker's two roles by default");
});

t.test('a digest listed only in another delegation is not signed', async (t) => {
  const { set, digests } = await repo();
  const signed = signedDigests(set, DOCKER_ROLES);
  t.notOk(signed.has(digests.alice), 'targets/alice');
  t.notOk(signed.has(digests.bot), 'targets/releases/bot, below releases');
  t.equal(signed.size, 2);
});

t.test("a digest listed only in a role the policy's roles leave out is not signed", async (t) => {
  const { set, digests } = await repo();
  t.same([...signedDigests(set, ['targets/releases'])], [[digests.releases, 'targets/releases']]);
  t.same([...signedDigests(set, ['targets'])], [[digests.targets, 'targets']]);
  t.equal(signedDigests(set, []).size, 0);
});

t.test('a digest signed by both roles is attributed to the first accepted role', async (t) => {
  const sim = new RepoSimulator();
  sim.addDelegation('targets/releases');
  const both = sim.addTarget('targets/releases', 'v1', 'same bytes');
  sim.addTarget('targets', 'v1-too', 'same bytes');
  sim.publish();
  const { set } = await updaterFor(sim).refresh(sim.gun);
  t.equal(signedDigests(set, ['targets/releases', 'targets']).get(both), 'targets/releases');
  t.equal(signedDigests(set, ['targets', 'targets/releases']).get(both), 'targets');
});

t.test('only names inside the delegated paths, narrowed by every parent, sign a digest', async (t) => {
  const sim = new RepoSimulator();
  sim.addDelegation('targets/releases', { paths: ['prod-'] });
  const inside = sim.addTarget('targets/releases', 'prod-1', 'inside');
  const outside = sim.addTarget('targets/releases', 'dev-1', 'outside');
  sim.publish();
  const { set } = await updaterFor(sim).refresh(sim.gun);
  const signed = signedDigests(set, DOCKER_ROLES);
  t.ok(signed.has(inside));
  t.notOk(signed.has(outside));
});

t.test('a role whose delegation chain is not loaded, or has no paths left, signs nothing', async (t) => {
  const sim = new RepoSimulator();
  sim.addDelegation('targets/releases', { paths: [] });
  const d = sim.addTarget('targets/releases', 'v1', 'no paths');
  sim.publish();
  const { set } = await updaterFor(sim).refresh(sim.gun);
  t.notOk(signedDigests(set, DOCKER_ROLES).has(d), 'no delegated paths');
  const bare = new RepoSimulator();
  bare.addTarget('targets', 'v1', 'x');
  bare.publish();
  const r = await updaterFor(bare).refresh(bare.gun);
  t.equal(signedDigests(r.set, ['targets/releases']).size, 0, 'no releases file');
});

t.test('entries without a valid sha256 sign nothing', async (t) => {
  const sim = new RepoSimulator();
  const good = sim.addTarget('targets', 'good', 'good');
  sim.beforeSign.set('targets', (s) => {
    const targets = s.targets as JsonObject;
    targets.sha512only = { hashes: { sha512: Buffer.alloc(64, 1).toString('base64') }, length: 3 };
    targets.short = { hashes: { sha256: Buffer.alloc(31, 2).toString('base64') }, length: 3 };
    targets.malformed = { hashes: { sha256: 'not base64!' }, length: 3 };
  });
  sim.publish();
  const { set } = await updaterFor(sim).refresh(sim.gun);
  t.same([...signedDigests(set, DOCKER_ROLES).keys()], [good]);
});

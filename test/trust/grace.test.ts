// The offline grace (`offline.maxStaleness`): expired timestamp and snapshot metadata are accepted
// for a bounded time, and the answer says so; root, targets and delegations never get a grace.

import t from 'tap';
import { ExpiredMetadataError, TagNotSignedError } from '../../src/errors.js';
import { RepoSimulator } from '../helpers/simulator.js';
import { rejectsWith, updaterFor } from '../helpers/trust.js';

const DAY = 86_400_000;

function repo(): RepoSimulator {
  const sim = new RepoSimulator('docker.io/library/grace');
  sim.addDelegation('targets/releases');
  sim.addTarget('targets', 'v1', 'manifest v1');
  sim.addTarget('targets/releases', 'v2', 'manifest v2');
  sim.publish();
  return sim;
}

// the simulator's timestamp expires 14 days from now, everything else much later
const at = (days: number) => () => new Date(Date.now() + days * DAY);

t.test('an expired timestamp is refused without a grace', async (t) => {
  const err = await rejectsWith(t, updaterFor(repo(), { clock: at(20) }).refresh('docker.io/library/grace'), ExpiredMetadataError, 'EXPIRED');
  t.equal(err.role, 'timestamp');
});

t.test('an expired timestamp is accepted within the grace, and the answer is marked stale', async (t) => {
  const sim = repo();
  const u = updaterFor(sim, { clock: at(20), maxStalenessMs: 30 * DAY });
  const v1 = await u.resolve(sim.gun, 'v1');
  t.equal(v1.stale, true);
  const ts = v1.chain.find((c) => c.role === 'timestamp');
  t.ok(ts, 'the timestamp is part of the answer');
  t.equal(ts?.validUntil.getTime(), (ts?.expires.getTime() ?? 0) + 30 * DAY, 'accepted until its expiry plus the grace');
  t.equal(v1.expires.getTime(), ts?.validUntil.getTime(), 'the answer lives only until the grace runs out');
  const v2 = await u.resolve(sim.gun, 'v2');
  t.equal(v2.role, 'targets/releases');
  t.equal(v2.stale, true);
});

t.test('fresh trust data is not marked stale even when a grace is configured', async (t) => {
  const sim = repo();
  const v1 = await updaterFor(sim, { maxStalenessMs: 30 * DAY }).resolve(sim.gun, 'v1');
  t.equal(v1.stale, false);
  const ts = v1.chain.find((c) => c.role === 'timestamp');
  t.ok((ts?.validUntil.getTime() ?? 0) > (ts?.expires.getTime() ?? 0), 'the grace extends how long it may be used');
});

t.test('past the grace, refused', async (t) => {
  const err = await rejectsWith(t, updaterFor(repo(), { clock: at(20), maxStalenessMs: 5 * DAY }).refresh('docker.io/library/grace'), ExpiredMetadataError, 'EXPIRED');
  t.equal(err.role, 'timestamp');
});

t.test('an expired snapshot is accepted within the grace', async (t) => {
  const sim = repo();
  sim.signed.snapshot.expires = sim.expiresIn(10);
  sim.signed.timestamp.expires = sim.expiresIn(100);
  sim.publish();
  const v1 = await updaterFor(sim, { clock: at(20), maxStalenessMs: 30 * DAY }).resolve(sim.gun, 'v1');
  t.equal(v1.stale, true);
  await rejectsWith(t, updaterFor(sim, { clock: at(20) }).refresh(sim.gun), ExpiredMetadataError, 'EXPIRED');
});

t.test('never a grace for targets, delegations or root', async (t) => {
  const targets = repo();
  targets.signed.targets.expires = targets.expiresIn(-1);
  targets.publish();
  const e1 = await rejectsWith(t, updaterFor(targets, { maxStalenessMs: 365 * DAY }).refresh(targets.gun), ExpiredMetadataError, 'EXPIRED');
  t.equal(e1.role, 'targets');

  const delegation = repo();
  delegation.delegation('targets/releases').signed.expires = delegation.expiresIn(-1);
  delegation.publish();
  const e2 = await rejectsWith(t, updaterFor(delegation, { maxStalenessMs: 365 * DAY }).resolve(delegation.gun, 'v2'), TagNotSignedError, 'NOT_SIGNED');
  t.ok(e2.cause instanceof ExpiredMetadataError, 'the expired delegation is left out');

  const root = repo();
  root.signed.root.expires = root.expiresIn(-1);
  root.publishRoot();
  root.publish();
  const e3 = await rejectsWith(t, updaterFor(root, { maxStalenessMs: 365 * DAY }).refresh(root.gun), ExpiredMetadataError, 'EXPIRED');
  t.equal(e3.role, 'root');
});

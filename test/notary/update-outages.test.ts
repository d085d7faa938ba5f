// The update workflow when Notary misbehaves at the transport level (notary client/tufclient.go
// downloadTimestamp): a network error, timeout, 404 or 5xx on the timestamp falls back to the stored
// timestamp while it is still valid; any other status is an error; without a stored timestamp the
// outage itself is reported. Missing files named by checksum are errors, never silently skipped.

import t from 'tap';
import { ExpiredMetadataError, HttpStatusError, TimeoutError, UnreachableError } from '../../src/errors.js';
import type { UpdaterEvent } from '../../src/notary/updater.js';
import { RepoSimulator, sha256Hex } from '../helpers/simulator.js';
import { rejectsWith, trustedRepo, updaterFor } from '../helpers/trust.js';

const DAY = 86_400_000;

const outages: [string, Error | undefined][] = [
  ['unreachable', new UnreachableError('sim://notary', 'connection refused')],
  ['a timeout', new TimeoutError('sim://notary', 'headers timeout')],
  ['HTTP 503', new HttpStatusError('sim://notary', 503)],
  ['HTTP 500', new HttpStatusError('sim://notary', 500)],
  ['HTTP 404', new HttpStatusError('sim://notary', 404)],
  ['no timestamp at all', undefined],
];

for (const [name, fault] of outages) {
  t.test(`timestamp ${name}: the stored, still valid timestamp is used`, async (t) => {
    const { sim, store } = await trustedRepo();
    if (fault) sim.overrides.set('timestamp', fault);
    else sim.files.delete('timestamp');
    const events: UpdaterEvent[] = [];
    const r = await updaterFor(sim, { store, events }).resolve(sim.gun, 'v1');
    t.equal(r.refresh.timestampSource, 'store');
    const used = events.find((e) => e.type === 'timestamp-from-store');
    t.ok(used, 'reported as an event');
  });
}

t.test('timestamp HTTP 403: not an outage, refused', async (t) => {
  const { sim, store } = await trustedRepo();
  sim.overrides.set('timestamp', new HttpStatusError('sim://notary', 403));
  const err = await rejectsWith(t, updaterFor(sim, { store }).refresh(sim.gun), HttpStatusError, 'HTTP_STATUS');
  t.equal((err as unknown as HttpStatusError).status, 403);
});

t.test('an outage with no stored timestamp: the outage is the error', async (t) => {
  const sim = new RepoSimulator();
  sim.addTarget('targets', 'v1', 'manifest v1');
  sim.publish();
  sim.overrides.set('timestamp', new UnreachableError('sim://notary', 'connection refused'));
  await rejectsWith(t, updaterFor(sim).refresh(sim.gun), UnreachableError, 'UNREACHABLE');
  sim.overrides.set('timestamp', new HttpStatusError('sim://notary', 502));
  await rejectsWith(t, updaterFor(sim).refresh(sim.gun), HttpStatusError, 'HTTP_STATUS');
});

t.test('an outage and a stored timestamp that has expired: unreachable, caused by the expiry', async (t) => {
  const { sim, store } = await trustedRepo();
  sim.overrides.set('timestamp', new HttpStatusError('sim://notary', 503));
  const later = new Date(Date.now() + 15 * DAY);
  const err = await rejectsWith(t, updaterFor(sim, { store, clock: () => later }).refresh(sim.gun), UnreachableError, 'UNREACHABLE');
  t.ok(err.cause instanceof ExpiredMetadataError, 'the stored timestamp expired');
});

t.test('a snapshot the timestamp names but Notary does not have: HTTP 404, not skipped', async (t) => {
  const sim = new RepoSimulator();
  sim.addTarget('targets', 'v1', 'manifest v1');
  sim.publish();
  sim.files.delete(`snapshot.${sha256Hex(sim.files.get('snapshot') as Buffer)}`);
  const err = await rejectsWith(t, updaterFor(sim).refresh(sim.gun), HttpStatusError, 'HTTP_STATUS');
  t.equal((err as unknown as HttpStatusError).status, 404);
});

t.test('a delegation the snapshot names but Notary does not have: HTTP 404', async (t) => {
  const sim = new RepoSimulator();
  sim.addDelegation('targets/releases');
  sim.addTarget('targets/releases', 'v2', 'manifest v2');
  sim.publish();
  sim.files.delete(`targets/releases.${sha256Hex(sim.files.get('targets/releases') as Buffer)}`);
  await rejectsWith(t, updaterFor(sim).refresh(sim.gun), HttpStatusError, 'HTTP_STATUS');
});

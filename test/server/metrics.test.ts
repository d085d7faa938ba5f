// Repository names on /metrics are bounded: only the repositories whose trust data expires soonest get
// a series (maxRepositories), named by GUN or by a hash of it (repositoryLabel).

import { createHash } from 'node:crypto';
import t from 'tap';
import { Metrics } from '../../src/server/metrics.js';

const NOW = 1_000_000_000_000;
const expiries = [
  { gun: 'docker.io/library/later', expires: NOW + 9_000_000, stale: false },
  { gun: 'docker.io/team/secret-project', expires: NOW + 1_000_000, stale: true },
  { gun: 'docker.io/library/soon', expires: NOW + 2_000_000, stale: false },
];
const sources = { trustExpiries: () => expiries, singleFlightJoined: () => ({}) };
const series = (body: string, name: string) => body.split('\n').filter((l) => l.startsWith(`${name}{`));

t.test('at most maxRepositories series, soonest expiry first', async (t) => {
  const { body } = await new Metrics(sources, () => NOW, { maxRepositories: 2 }).render();
  t.same(series(body, 'trustgate_trust_expiry_seconds'), [
    'trustgate_trust_expiry_seconds{gun="docker.io/team/secret-project"} 1000',
    'trustgate_trust_expiry_seconds{gun="docker.io/library/soon"} 2000',
  ]);
  t.match(body, /^trustgate_trust_repositories 3$/m, 'how many there are, in one series');
  t.match(body, /^trustgate_signature_verifications \d+$/m);
});

t.test('hashed labels name no repository', async (t) => {
  const { body } = await new Metrics(sources, () => NOW, { repositoryLabel: 'sha256' }).render();
  t.notMatch(body, 'docker.io/');
  const hashed = createHash('sha256').update('docker.io/team/secret-project').digest('hex').slice(0, 16);
  t.match(body, `trustgate_trust_expiry_seconds{gun="${hashed}"} 1000`);
  t.match(body, `trustgate_offline_grace_remaining_seconds{gun="${hashed}"} 1000`);
  t.equal(series(body, 'trustgate_trust_expiry_seconds').length, 3);
});

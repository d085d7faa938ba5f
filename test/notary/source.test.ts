// The Notary trust source through the repository simulator: which digests it admits, how fresh its
// answers are, and what it serves when Notary is out. Time is the source's injected clock.

import t from 'tap';
import { MemoryTrustStore, type TrustStore } from '../../src/cache/trust-store.js';
import { NotSignedError, UnreachableError } from '../../src/errors.js';
import { NotaryTrustSource } from '../../src/notary/source.js';
import type { TrustUpdater } from '../../src/notary/updater.js';
import type { Decision } from '../../src/policy/policy.js';
import type { PullTarget } from '../../src/pull/target.js';
import type { RegistryUpstream } from '../../src/registry/upstream.js';
import { NO_PINNING } from '../../src/trust/index.js';
import { RepoSimulator } from '../helpers/simulator.js';
import { rejectsWith, updaterFor } from '../helpers/trust.js';

const INTERVAL = 10_000;

function targetFor(sim: RepoSimulator, roles: readonly string[] = ['targets/releases', 'targets']): PullTarget {
  const decision: Decision = { action: 'verify', roles, pinning: NO_PINNING, rule: '*' };
  return { upstream: { name: 'docker.io' } as RegistryUpstream, repository: sim.gun.slice('docker.io/'.length), gun: sim.gun, decision, accept: undefined };
}

function sourceFor(sim: RepoSimulator, clock: { now: number }, errors: unknown[] = [], store?: TrustStore) {
  const updater = updaterFor(sim, { clock: () => new Date(clock.now), ...(store ? { store } : {}) });
  return new NotaryTrustSource({ updaterFor: () => updater, refreshIntervalMs: INTERVAL, clock: () => clock.now, onBackgroundError: (_g, e) => errors.push(e) });
}

const settle = () => new Promise((r) => setImmediate(r));

t.test('digest pulls: only roles the policy accepts, only inside a delegation\'s paths', async (t) => {
  const sim = new RepoSimulator('docker.io/library/paths');
  sim.addDelegation('targets/releases', { paths: ['prod-'] });
  sim.addDelegation('targets/other');
  const inPaths = sim.addTarget('targets/releases', 'prod-1', 'in paths');
  const outside = sim.addTarget('targets/releases', 'evil', 'outside the delegation paths');
  const inTargets = sim.addTarget('targets', 'v1', 'top-level');
  const otherRole = sim.addTarget('targets/other', 'x', 'a delegation Docker never reads');
  sim.publish();
  const clock = { now: sim.now.getTime() };
  const source = sourceFor(sim, clock);
  const all = targetFor(sim);
  t.same((await source.admitDigest(all, inPaths)).signedBy, 'targets/releases');
  t.equal((await source.admitDigest(all, outside)).signed, false, 'a name the delegation may not sign signs no digest');
  await rejectsWith(t, source.resolveTag(all, 'evil'), NotSignedError, 'NOT_SIGNED');
  t.equal((await source.admitDigest(all, inTargets)).signedBy, 'targets');
  t.equal((await source.admitDigest(all, otherRole)).signed, false, 'another delegation signs no digest');
  const releasesOnly = targetFor(sim, ['targets/releases']);
  t.equal((await source.admitDigest(releasesOnly, inTargets)).signed, false, 'a role the policy excludes signs no digest');
  t.equal((await source.admitDigest(releasesOnly, inPaths)).signed, true);
});

t.test('answers are as fresh as the refresh interval, refreshed ahead of it in the background', async (t) => {
  const sim = new RepoSimulator('docker.io/library/fresh');
  const d1 = sim.addTarget('targets', 'v1', 'one');
  sim.publish();
  const clock = { now: sim.now.getTime() };
  const source = sourceFor(sim, clock);
  const target = targetFor(sim);
  t.equal((await source.resolveTag(target, 'v1')).verdict.digest, d1);
  const fetches = () => sim.requests.filter((r) => r === 'timestamp').length;
  const before = fetches();

  const d2 = sim.addTarget('targets', 'v1', 'two');
  sim.publish();
  clock.now += INTERVAL / 4;
  t.equal((await source.resolveTag(target, 'v1')).verdict.digest, d1, 'within the interval: the verified answer');
  t.equal(fetches(), before, 'and no refresh');

  clock.now += INTERVAL / 4; // half the interval: answered at once, refreshed behind
  const ahead = await source.resolveTag(target, 'v1');
  t.equal(ahead.verdict.digest, d1);
  await source.refreshes.run('wait', async () => undefined as never).catch(() => undefined);
  for (let i = 0; i < 50 && fetches() === before; i++) await settle();
  t.equal(fetches(), before + 1, 'one background refresh');
  await settle();
  t.equal((await source.resolveTag(target, 'v1')).verdict.digest, d2, 'its result is used from then on');

  sim.signed.targets.targets = {};
  sim.publish();
  clock.now += INTERVAL; // a full interval since that refresh: the pull waits for a fresh one
  await rejectsWith(t, source.resolveTag(target, 'v1'), NotSignedError, 'NOT_SIGNED');
});

/** A store that can lose everything it held (a flushed Redis). */
class LosingStore extends MemoryTrustStore {
  lost = false;
  override async getMetadata(gun: string, role: string) {
    return this.lost ? undefined : super.getMetadata(gun, role);
  }
}

t.test('stale-if-error: while Notary and the store are out, verified data is served until it expires, retried sparingly', async (t) => {
  const sim = new RepoSimulator('docker.io/library/outage');
  const d1 = sim.addTarget('targets', 'v1', 'one');
  sim.signed.timestamp.expires = sim.expiresIn(1);
  sim.publish();
  const clock = { now: sim.now.getTime() };
  const errors: unknown[] = [];
  const store = new LosingStore();
  const source = sourceFor(sim, clock, errors, store);
  const target = targetFor(sim);
  t.equal((await source.resolveTag(target, 'v1')).verdict.digest, d1);

  store.lost = true;
  for (const name of ['root', 'timestamp']) sim.overrides.set(name, new UnreachableError('https://notary.test', 'down'));
  clock.now += INTERVAL * 2;
  const during = await source.resolveTag(target, 'v1');
  t.same({ digest: during.verdict.digest, cache: during.cache }, { digest: d1, cache: 'hit' }, 'the verified answer, after one failed refresh');
  t.ok(errors.some((e) => e instanceof UnreachableError), 'the failure is reported');
  const attempts = sim.requests.filter((r) => r === 'timestamp').length;
  await source.resolveTag(target, 'v1');
  t.equal(sim.requests.filter((r) => r === 'timestamp').length, attempts, 'no new attempt by every pull');

  clock.now += 2 * 86_400_000; // past the timestamp's expiry
  await rejectsWith(t, source.resolveTag(target, 'v1'), UnreachableError, 'UNREACHABLE');
});

t.test('a verification failure is never papered over with older data', async (t) => {
  const sim = new RepoSimulator('docker.io/library/attacked');
  sim.addTarget('targets', 'v1', 'one');
  sim.publish();
  const old = sim.files.get('timestamp') as Buffer;
  sim.publish();
  const clock = { now: sim.now.getTime() };
  const source = sourceFor(sim, clock);
  const target = targetFor(sim);
  await source.resolveTag(target, 'v1');
  sim.overrides.set('timestamp', old); // a replayed, older timestamp
  clock.now += INTERVAL;
  const err = await source.resolveTag(target, 'v1').then(
    () => undefined,
    (e: unknown) => e as { code?: string },
  );
  t.equal(err?.code, 'ROLLBACK');
});

t.test('an invalidation forgets a refresh already under way: later pulls neither join nor inherit it', async (t) => {
  const sim = new RepoSimulator('docker.io/library/inflight');
  const d1 = sim.addTarget('targets', 'v1', 'one');
  sim.publish();
  const clock = { now: sim.now.getTime() };
  const updater = updaterFor(sim, { clock: () => new Date(clock.now) });
  // the first refresh has read the trust data, and is held before it returns
  let release: () => void = () => {};
  let held: Promise<void> | undefined = new Promise((r) => (release = r));
  let reached = false;
  const gated = {
    refresh: async (gun: string) => {
      const r = await updater.refresh(gun);
      const gate = held;
      reached = true;
      await gate;
      return r;
    },
  } as unknown as TrustUpdater;
  const source = new NotaryTrustSource({ updaterFor: () => gated, refreshIntervalMs: INTERVAL, clock: () => clock.now });
  const target = targetFor(sim);
  const early = source.resolveTag(target, 'v1');
  for (let i = 0; i < 100 && !reached; i++) await settle();
  t.ok(reached, 'the first refresh read v1 → one');

  const d2 = sim.addTarget('targets', 'v1', 'two');
  sim.publish();
  held = undefined;
  source.invalidate([sim.gun]); // an import of the re-pointed tag
  t.equal((await source.resolveTag(target, 'v1')).verdict.digest, d2, 'a pull after the invalidation refreshes anew');
  release();
  t.equal((await early).verdict.digest, d1, 'the pull that started before it gets what it was verifying');
  t.equal((await source.resolveTag(target, 'v1')).verdict.digest, d2, 'and its late result is not kept');
});

// How src/trust/resolve.ts answers, pinned on the engine alone: the answer's fields and the chain it
// depends on, the walk's order and path rules as docker/cli getTrustedPullTargets over notary's
// WalkTargets (a policy refusal of the first hit is final; a child's paths are cut to its parent's),
// and until when the answers of a set are accepted.

import t, { type Test } from 'tap';
import { TagNotSignedError } from '../../src/errors.js';
import {
  acceptedUntil,
  chainOf,
  NO_PINNING,
  resolveSignedTag,
  signedDigests,
  TrustedMetadataSet,
  type JsonObject,
  type Targets,
} from '../../src/trust/index.js';
import { RepoSimulator, SimKey } from '../helpers/simulator.js';
import { setThroughTargets, throwsWith } from '../helpers/trust.js';

const DAY = 86_400_000;

/** The set through targets plus every delegation `targets` (and below it) declares, parents first. */
function fullSet(sim: RepoSimulator, o: { now?: Date; maxStalenessMs?: number } = {}): TrustedMetadataSet {
  const file = (name: string) => sim.files.get(name) as Buffer;
  const ctx = { gun: sim.gun, now: o.now ?? sim.now, pinning: NO_PINNING, ...(o.maxStalenessMs ? { maxStalenessMs: o.maxStalenessMs } : {}) };
  const set = TrustedMetadataSet.fromRoot(file('root'), ctx, false);
  set.updateTimestamp(file('timestamp'), 0);
  set.updateSnapshot(file('snapshot'), 0);
  set.updateTargets(file('targets'), 0);
  const queue = ['targets'];
  while (queue.length > 0) {
    const parent = queue.shift() as string;
    for (const spec of (set.targetsFiles.get(parent)?.data as Targets).delegations) {
      set.updateDelegation(parent, spec, file(spec.name), 0);
      queue.push(spec.name);
    }
  }
  return set;
}

const notSigned = (t: Test, set: TrustedMetadataSet, tag: string, roles?: string[]) =>
  throwsWith(t, () => resolveSignedTag(set, tag, roles), TagNotSignedError, 'NOT_SIGNED');

t.test('the answer: digest, length, role, signers, and the chain of files it depends on', async (t) => {
  const sim = new RepoSimulator();
  sim.addDelegation('targets/releases');
  sim.delegation('targets/releases').signed.expires = sim.expiresIn(5); // the earliest expiry
  const d2 = sim.addTarget('targets/releases', 'v2', 'manifest v2');
  const d1 = sim.addTarget('targets', 'v1', 'manifest v1 bytes');
  sim.publish();
  const set = fullSet(sim);
  const v2 = resolveSignedTag(set, 'v2');
  t.same(
    { gun: v2.gun, tag: v2.tag, digest: v2.digest, length: v2.length, role: v2.role, stale: v2.stale },
    { gun: sim.gun, tag: 'v2', digest: d2, length: 'manifest v2'.length, role: 'targets/releases', stale: false },
  );
  t.same(v2.signers, [(sim.delegation('targets/releases').keys[0] as SimKey).id]);
  t.same(v2.chain.map((c) => c.role), ['root', 'timestamp', 'snapshot', 'targets', 'targets/releases']);
  const releases = set.targetsFiles.get('targets/releases')?.data as Targets;
  t.equal(v2.expires.getTime(), releases.expires.getTime(), 'the earliest file expiry');
  t.same(v2.chain.at(-1), { role: 'targets/releases', expires: releases.expires, version: releases.version, validUntil: releases.expires });

  const v1 = resolveSignedTag(set, 'v1');
  t.same({ digest: v1.digest, length: v1.length, role: v1.role }, { digest: d1, length: 'manifest v1 bytes'.length, role: 'targets' });
  t.same(v1.signers, [(sim.keys.targets[0] as SimKey).id]);
  t.same(v1.chain.map((c) => c.role), ['root', 'timestamp', 'snapshot', 'targets']);
  const ts = set.timestamp?.data;
  t.equal(v1.expires.getTime(), ts?.expires.getTime(), 'the timestamp expires first without releases');
});

t.test('chainOf: only the files loaded so far; the grace extends timestamp and snapshot only', async (t) => {
  const sim = new RepoSimulator();
  sim.addTarget('targets', 'v1', 'x');
  sim.publish();
  const bare = TrustedMetadataSet.fromRoot(sim.files.get('root') as Buffer, { gun: sim.gun, now: sim.now, pinning: NO_PINNING }, false);
  t.same(chainOf(bare, 'targets').map((c) => c.role), ['root']);
  bare.updateTimestamp(sim.files.get('timestamp') as Buffer, 0);
  t.same(chainOf(bare, 'targets/releases').map((c) => c.role), ['root', 'timestamp']);
  const graced = fullSet(sim, { maxStalenessMs: 7 * DAY });
  for (const c of chainOf(graced, 'targets')) {
    const grace = c.role === 'timestamp' || c.role === 'snapshot' ? 7 * DAY : 0;
    t.equal(c.validUntil.getTime(), c.expires.getTime() + grace, c.role);
  }
  const root = chainOf(graced, 'targets')[0];
  t.equal(root?.version, graced.root.root.version);
});

t.test('acceptedUntil: the earliest limit over the chains of the loaded Docker roles', async (t) => {
  const sim = new RepoSimulator();
  sim.addDelegation('targets/releases');
  sim.delegation('targets/releases').signed.expires = sim.expiresIn(3);
  sim.addTarget('targets', 'v1', 'x');
  sim.publish();
  const set = fullSet(sim);
  const releases = set.targetsFiles.get('targets/releases')?.data.expires.getTime();
  const timestamp = set.timestamp?.data.expires.getTime();
  t.equal(acceptedUntil(set).getTime(), releases, 'targets/releases expires first');
  t.equal(acceptedUntil(set, ['targets']).getTime(), timestamp, 'without releases: the timestamp');
  t.equal(acceptedUntil(set, []).getTime(), timestamp, 'no role: the chain of targets');
  const noReleases = setThroughTargets(sim);
  t.equal(acceptedUntil(noReleases).getTime(), timestamp, 'releases not loaded');
});

t.test('releases not loaded: a tag in targets is signed by targets, one only in releases is not signed', async (t) => {
  const sim = new RepoSimulator();
  sim.addDelegation('targets/releases');
  sim.addTarget('targets', 'v1', 'x');
  sim.addTarget('targets/releases', 'v2', 'y');
  sim.publish();
  const set = setThroughTargets(sim);
  t.equal(resolveSignedTag(set, 'v1').role, 'targets');
  notSigned(t, set, 'v2');
  t.same([...signedDigests(set).values()], ['targets'], 'and only targets signs digests');
});

t.test('a tag releases does not list falls through to targets; one in both is signed by releases', async (t) => {
  const sim = new RepoSimulator();
  sim.addDelegation('targets/releases');
  sim.addTarget('targets/releases', 'other', 'o');
  sim.addTarget('targets', 'v1', 'x');
  const inReleases = sim.addTarget('targets/releases', 'both', 'from releases');
  sim.addTarget('targets', 'both', 'from targets');
  sim.publish();
  const set = fullSet(sim);
  t.equal(resolveSignedTag(set, 'v1').role, 'targets');
  t.equal(resolveSignedTag(set, 'both').digest, inReleases);
  notSigned(t, set, 'both', ['targets']);
  t.equal(resolveSignedTag(set, 'v1', ['targets']).role, 'targets');
  notSigned(t, set, 'v1', ['targets/releases']);
  notSigned(t, set, 'absent');
});

t.test('a tag outside the releases paths is not looked up there: targets decides', async (t) => {
  const sim = new RepoSimulator();
  sim.addDelegation('targets/alice'); // declared before releases: releases' paths are its own, not the first child's
  sim.addDelegation('targets/releases', { paths: ['prod-', 'stable-'] });
  const prod = sim.addTarget('targets/releases', 'prod-1', 'p');
  const stable = sim.addTarget('targets/releases', 'stable-1', 's');
  const releaseDev = sim.addTarget('targets/releases', 'dev-1', 'release dev');
  const dev = sim.addTarget('targets', 'dev-1', 'targets dev');
  sim.publish();
  const set = fullSet(sim);
  t.equal(resolveSignedTag(set, 'prod-1').role, 'targets/releases');
  t.equal(resolveSignedTag(set, 'stable-1').role, 'targets/releases');
  const d = resolveSignedTag(set, 'dev-1');
  t.same({ role: d.role, digest: d.digest }, { role: 'targets', digest: dev });
  const digests = signedDigests(set);
  t.same([prod, stable, releaseDev].map((x) => digests.get(x)), ['targets/releases', 'targets/releases', undefined], 'digests: only names inside either path');
});

t.test('delegations outside the releases subtree are not part of its walk', async (t) => {
  // targets/releases-old shares the name prefix of targets/releases but is its sibling
  const sim = new RepoSimulator();
  sim.addDelegation('targets/releases');
  sim.addDelegation('targets/releases-old');
  sim.addDelegation('targets/alice');
  sim.addTarget('targets/releases-old', 'v1', 'old');
  sim.addTarget('targets/alice', 'v1', 'alice');
  const v1 = sim.addTarget('targets', 'v1', 'targets v1');
  sim.addTarget('targets/alice', 'a1', 'alice only');
  sim.publish();
  const set = fullSet(sim);
  t.equal(set.targetsFiles.size, 4);
  const r = resolveSignedTag(set, 'v1');
  t.same({ role: r.role, digest: r.digest }, { role: 'targets', digest: v1 });
  notSigned(t, set, 'a1');
});

t.test("a child's paths are cut to its parent's before it is looked up", async (t) => {
  // releases may sign dev* and prod*; its child bot lists dev- (inside) and d (outside releases')
  const sim = new RepoSimulator();
  sim.addDelegation('targets/releases', { paths: ['dev', 'prod'] });
  sim.addDelegation('targets/releases/bot', { paths: ['dev-', 'd'] });
  sim.addTarget('targets/releases/bot', 'dev-1', 'bot dev');
  sim.addTarget('targets', 'dev-1', 'targets dev');
  sim.addTarget('targets/releases/bot', 'devx', 'bot devx');
  sim.addTarget('targets', 'devx', 'targets devx');
  sim.publish();
  const set = fullSet(sim);
  t.ok(set.targetsFiles.has('targets/releases/bot'));
  notSigned(t, set, 'dev-1'); // found first below releases: Docker refuses rather than fall back
  t.equal(resolveSignedTag(set, 'devx').role, 'targets', 'bot may not sign devx (only d covers it, outside releases): targets decides');
  const bot = signedDigests(set, ['targets/releases/bot']);
  t.same([...bot.values()], ['targets/releases/bot'], 'digests of a deeper role: only under its cut paths (dev-1, not devx)');
});

t.test('a target whose sha256 is not 32 bytes is not signed', async (t) => {
  const sim = new RepoSimulator();
  sim.beforeSign.set('targets', (s) => {
    const targets = s.targets as JsonObject;
    targets.short = { hashes: { sha256: Buffer.alloc(31, 1).toString('base64') }, length: 3 };
    targets.long = { hashes: { sha256: Buffer.alloc(33, 1).toString('base64') }, length: 3 };
    targets.ok = { hashes: { sha256: Buffer.alloc(32, 1).toString('base64') }, length: 3 };
    targets.sha512only = { hashes: { sha512: Buffer.alloc(64, 1).toString('base64') }, length: 3 };
  });
  sim.publish();
  const set = setThroughTargets(sim);
  notSigned(t, set, 'short');
  notSigned(t, set, 'long');
  notSigned(t, set, 'sha512only');
  t.equal(resolveSignedTag(set, 'ok').digest, `sha256:${'01'.repeat(32)}`);
});

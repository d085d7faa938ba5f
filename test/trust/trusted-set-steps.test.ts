// Each step of TrustedMetadataSet on its own (python-tuf trusted_metadata_set.py, notary
// tuf/builder.go): the order guards, where a version equal to the floor is accepted and one below
// refused, where an expiry equal to the reference time is accepted and a millisecond later refused,
// the offline grace at its exact edge, the root rotation's rules (exact version, no downgrade,
// intermediate roots may be expired), and what a step returns and keeps.

import t, { type Test } from 'tap';
import {
  BadVersionError,
  ExpiredMetadataError,
  LengthOrHashMismatchError,
  RepositoryError,
  RootRotationError,
  TrustPinningError,
  UnsignedMetadataError,
} from '../../src/errors.js';
import {
  NO_PINNING,
  parseEnvelope,
  parseRoot,
  parseSnapshot,
  parseTargets,
  parseTimestamp,
  TrustedMetadataSet,
  type Targets,
  type TrustPinning,
} from '../../src/trust/index.js';
import { RepoSimulator, SimKey } from '../helpers/simulator.js';
import { throwsWith } from '../helpers/trust.js';

const DAY = 86_400_000;
const NO_TOFU: TrustPinning = { keys: new Map(), ca: new Map(), disableTOFU: true };

function repo(): RepoSimulator {
  const sim = new RepoSimulator();
  sim.addDelegation('targets/releases');
  sim.addTarget('targets', 'v1', 'manifest v1');
  sim.addTarget('targets/releases', 'v2', 'manifest v2');
  sim.publish();
  return sim;
}

const file = (sim: RepoSimulator, name: string) => sim.files.get(name) as Buffer;
const rootExpiry = (bytes: Buffer) => parseRoot(parseEnvelope(bytes, 'root')).expires;

/** The expiry and version a published file carries, as the engine parses them. */
function signedOf(sim: RepoSimulator, name: string): { expires: Date; version: number } {
  const env = parseEnvelope(file(sim, name), name);
  if (name === 'timestamp') return parseTimestamp(env);
  if (name === 'snapshot') return parseSnapshot(env);
  return parseTargets(env, name);
}

interface Load {
  now?: Date;
  maxStalenessMs?: number;
  pinning?: TrustPinning;
  previouslyTrusted?: boolean;
}

function start(sim: RepoSimulator, o: Load = {}, root = file(sim, 'root')): TrustedMetadataSet {
  const ctx = { gun: sim.gun, now: o.now ?? sim.now, pinning: o.pinning ?? NO_PINNING, ...(o.maxStalenessMs !== undefined ? { maxStalenessMs: o.maxStalenessMs } : {}) };
  return TrustedMetadataSet.fromRoot(root, ctx, o.previouslyTrusted ?? false);
}

function throughTargets(sim: RepoSimulator, o: Load = {}): TrustedMetadataSet {
  const set = start(sim, o);
  set.updateTimestamp(file(sim, 'timestamp'), 0);
  set.updateSnapshot(file(sim, 'snapshot'), 0);
  set.updateTargets(file(sim, 'targets'), 0);
  return set;
}

function releasesSpec(set: TrustedMetadataSet) {
  return (set.targetsFiles.get('targets')?.data as Targets).delegations.find((d) => d.name === 'targets/releases') as Targets['delegations'][number];
}

/** An out-of-order call: a programming error, not a repository fault. */
function orderError(t: Test, fn: () => unknown): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  t.ok(err instanceof Error && !(err instanceof RepositoryError), 'a plain Error, not a RepositoryError');
  t.equal((err as Error | undefined)?.name, 'OrderError');
}

// ---- starting from a root -------------------------------------------------------------------

t.test('fromRoot: the set knows its GUN, reference time and root', async (t) => {
  const sim = repo();
  const set = start(sim);
  t.equal(set.gun, sim.gun);
  t.equal(set.now, sim.now);
  t.ok(set.root.bytes.equals(file(sim, 'root')));
  t.equal(set.timestamp, undefined);
  t.equal(set.snapshot, undefined);
  t.equal(set.targetsFiles.size, 0);
  t.equal(set.snapshotMeta('targets'), undefined, 'no snapshot yet');
  t.equal(set.stale, false, 'nothing loaded is stale');
});

t.test('fromRoot: TOFU disabled refuses a first-seen root, not one trusted before', async (t) => {
  const sim = repo();
  throwsWith(t, () => start(sim, { pinning: NO_TOFU }), TrustPinningError, 'PINNING_FAILED');
  t.equal(start(sim, { pinning: NO_TOFU, previouslyTrusted: true }).root.root.version, 1);
});

t.test('fromRoot: a first-seen root must not be expired; one trusted before may be', async (t) => {
  const sim = repo();
  sim.signed.root.expires = sim.expiresIn(30); // before its certificate expires
  sim.publishRoot();
  sim.publish();
  const expires = rootExpiry(file(sim, 'root'));
  const justAfter = new Date(expires.getTime() + 1);
  const err = throwsWith(t, () => start(sim, { now: justAfter }), ExpiredMetadataError, 'EXPIRED');
  t.equal(err.role, 'root');
  const trusted = start(sim, { now: justAfter, previouslyTrusted: true });
  t.equal(trusted.isRootExpired(), true);
  throwsWith(t, () => trusted.checkRootExpiry(), ExpiredMetadataError, 'EXPIRED');
  const updateErr = throwsWith(t, () => trusted.updateTimestamp(file(sim, 'timestamp'), 0), ExpiredMetadataError, 'EXPIRED');
  t.equal(updateErr.role, 'root', 'nothing else loads over an expired root');

  const atExpiry = start(sim, { now: expires });
  t.equal(atExpiry.isRootExpired(), false, 'expiring exactly now is not expired');
  t.doesNotThrow(() => atExpiry.checkRootExpiry());
  t.equal(start(sim, { now: new Date(expires.getTime() - DAY) }).isRootExpired(), false);
});

t.test('fromTrustedAnchor: the stored root, as the anchor of a rotation', async (t) => {
  const sim = repo();
  const set = TrustedMetadataSet.fromTrustedAnchor(file(sim, 'root'), { gun: sim.gun, now: sim.now, pinning: NO_PINNING });
  t.equal(set.root.root.version, 1);
  t.equal(set.gun, sim.gun);
});

// ---- updateRoot -----------------------------------------------------------------------------

t.test('updateRoot: the same version again is accepted, an older one refused', async (t) => {
  const sim = repo();
  sim.publishRoot(); // v2, the same key
  const set = start(sim, {}, file(sim, '1.root'));
  set.updateRoot(file(sim, '1.root'), { final: true });
  t.equal(set.root.root.version, 1, 'the same version');
  set.updateRoot(file(sim, '2.root'), { final: true });
  t.equal(set.root.root.version, 2);
  const err = throwsWith(t, () => set.updateRoot(file(sim, '1.root'), { final: true }), BadVersionError, 'ROLLBACK');
  t.equal(err.role, 'root');
  t.equal(set.root.root.version, 2, 'unchanged');
});

t.test('updateRoot: exactVersion must be the version the root carries', async (t) => {
  const sim = repo();
  sim.publishRoot();
  const set = start(sim, {}, file(sim, '1.root'));
  throwsWith(t, () => set.updateRoot(file(sim, '2.root'), { final: true, exactVersion: 3 }), BadVersionError, 'ROLLBACK');
  t.equal(set.root.root.version, 1);
  set.updateRoot(file(sim, '2.root'), { final: true, exactVersion: 2 });
  t.equal(set.root.root.version, 2);
});

t.test('updateRoot: only the final root must be in date, up to its expiry inclusive', async (t) => {
  const sim = repo();
  sim.signed.root.expires = sim.expiresIn(1);
  sim.publishRoot(); // v2 expires in one day
  const expires = rootExpiry(file(sim, '2.root'));
  const after = new Date(expires.getTime() + 1);
  const set = start(sim, { now: after }, file(sim, '1.root'));
  const err = throwsWith(t, () => set.updateRoot(file(sim, '2.root'), { final: true }), ExpiredMetadataError, 'EXPIRED');
  t.equal(err.role, 'root');
  t.equal(set.root.root.version, 1);
  set.updateRoot(file(sim, '2.root'), { final: false });
  t.equal(set.root.root.version, 2, 'an intermediate root may have expired');
  const atExpiry = start(sim, { now: expires }, file(sim, '1.root'));
  atExpiry.updateRoot(file(sim, '2.root'), { final: true });
  t.equal(atExpiry.root.root.version, 2, 'expiring exactly now');
});

t.test('updateRoot: a rotation is checked against the trusted root, and TOFU does not apply', async (t) => {
  const sim = repo();
  const k1 = sim.keys.root[0] as SimKey;
  sim.publishRoot(); // v2, same key
  const trusted = start(sim, { pinning: NO_TOFU, previouslyTrusted: true }, file(sim, '1.root'));
  trusted.updateRoot(file(sim, '2.root'), { final: true });
  t.equal(trusted.root.root.version, 2, 'TOFU disabled: a rotation from a trusted root is not a first contact');
  sim.keys.root = [SimKey.generate('ecdsa-x509', { cn: sim.gun })];
  sim.publishRoot(); // v3, signed by its new key only
  throwsWith(t, () => trusted.updateRoot(file(sim, '3.root'), { final: true }), RootRotationError, 'ROOT_ROTATION_FAILED');
  sim.rootCosigners = [k1];
  sim.publishRoot(); // v4, cosigned by the old key
  trusted.updateRoot(file(sim, '4.root'), { final: true });
  t.equal(trusted.root.root.version, 4);
});

t.test('updateRoot after the timestamp is an order error', async (t) => {
  const sim = repo();
  const set = start(sim);
  set.updateTimestamp(file(sim, 'timestamp'), 0);
  orderError(t, () => set.updateRoot(file(sim, 'root'), { final: true }));
});

// ---- timestamp, snapshot, targets -----------------------------------------------------------

t.test('order guards: each file once, each after its parent', async (t) => {
  const sim = repo();
  const set = start(sim);
  orderError(t, () => set.updateSnapshot(file(sim, 'snapshot'), 0));
  orderError(t, () => set.updateTargets(file(sim, 'targets'), 0));
  const ts = set.updateTimestamp(file(sim, 'timestamp'), 0);
  t.equal(set.timestamp, ts);
  orderError(t, () => set.updateTimestamp(file(sim, 'timestamp'), 0));
  orderError(t, () => set.updateTargets(file(sim, 'targets'), 0));
  const sn = set.updateSnapshot(file(sim, 'snapshot'), 0);
  t.equal(set.snapshot, sn);
  orderError(t, () => set.updateSnapshot(file(sim, 'snapshot'), 0));
  orderError(t, () => set.updateDelegation('targets', { name: 'targets/releases', keyIds: [], threshold: 1, paths: [''] } as never, file(sim, 'targets/releases'), 0));
  const tg = set.updateTargets(file(sim, 'targets'), 0);
  t.equal(set.targetsFiles.get('targets'), tg);
  orderError(t, () => set.updateTargets(file(sim, 'targets'), 0));
  const spec = releasesSpec(set);
  set.updateDelegation('targets', spec, file(sim, 'targets/releases'), 0);
  orderError(t, () => set.updateDelegation('targets', spec, file(sim, 'targets/releases'), 0));
});

t.test('what each step returns: the bytes, the parsed file, its signers', async (t) => {
  const sim = repo();
  const set = start(sim);
  const ts = set.updateTimestamp(file(sim, 'timestamp'), 0);
  t.ok(ts.bytes.equals(file(sim, 'timestamp')));
  t.equal(ts.data.version, signedOf(sim, 'timestamp').version);
  t.same(ts.signers, [(sim.keys.timestamp[0] as SimKey).id]);
  t.equal(ts.envelope.signatures.length, 1);
  const sn = set.updateSnapshot(file(sim, 'snapshot'), 0);
  t.same(sn.signers, [(sim.keys.snapshot[0] as SimKey).id]);
  t.equal(set.snapshotMeta('targets')?.length, file(sim, 'targets').length);
  t.equal(set.snapshotMeta('targets/nothing'), undefined);
  const tg = set.updateTargets(file(sim, 'targets'), 0);
  t.same(tg.signers, [(sim.keys.targets[0] as SimKey).id]);
  t.ok(tg.data.targets.get('v1'));
  const d = set.updateDelegation('targets', releasesSpec(set), file(sim, 'targets/releases'), 0);
  t.ok(d.bytes.equals(file(sim, 'targets/releases')));
  t.equal(d.data.version, signedOf(sim, 'targets/releases').version);
  t.ok(d.data.targets.get('v2'));
  t.same(d.signers, [(sim.delegation('targets/releases').keys[0] as SimKey).id]);
  t.equal(d.envelope.signatures.length, 1);
  t.equal(set.targetsFiles.get('targets/releases'), d);
});

t.test('rollback floors: the floor version itself is accepted, one above it refused', async (t) => {
  const sim = repo();
  const v = (name: string) => signedOf(sim, name).version;
  const set = start(sim);
  throwsWith(t, () => set.updateTimestamp(file(sim, 'timestamp'), v('timestamp') + 1), BadVersionError, 'ROLLBACK');
  set.updateTimestamp(file(sim, 'timestamp'), v('timestamp'));
  throwsWith(t, () => set.updateSnapshot(file(sim, 'snapshot'), v('snapshot') + 1), BadVersionError, 'ROLLBACK');
  set.updateSnapshot(file(sim, 'snapshot'), v('snapshot'));
  throwsWith(t, () => set.updateTargets(file(sim, 'targets'), v('targets') + 1), BadVersionError, 'ROLLBACK');
  set.updateTargets(file(sim, 'targets'), v('targets'));
  const releases = v('targets/releases');
  const err = throwsWith(t, () => set.updateDelegation('targets', releasesSpec(set), file(sim, 'targets/releases'), releases + 1), BadVersionError, 'ROLLBACK');
  t.equal(err.role, 'targets/releases');
  t.notOk(set.targetsFiles.has('targets/releases'), 'a failed update leaves the set unchanged');
  set.updateDelegation('targets', releasesSpec(set), file(sim, 'targets/releases'), releases);
  t.ok(set.targetsFiles.has('targets/releases'));
});

t.test('expiry: a file expiring exactly at the reference time is accepted, a millisecond later refused', async (t) => {
  const sim = repo();
  // each file expires a day before its parent, so the parents are still in date when it is judged
  sim.signed.timestamp.expires = sim.expiresIn(5);
  sim.signed.snapshot.expires = sim.expiresIn(4);
  sim.signed.targets.expires = sim.expiresIn(3);
  sim.delegation('targets/releases').signed.expires = sim.expiresIn(2);
  sim.publish();
  const load = (now: Date) => {
    const set = start(sim, { now });
    return [
      () => set.updateTimestamp(file(sim, 'timestamp'), 0),
      () => set.updateSnapshot(file(sim, 'snapshot'), 0),
      () => set.updateTargets(file(sim, 'targets'), 0),
      () => set.updateDelegation('targets', releasesSpec(set), file(sim, 'targets/releases'), 0),
    ];
  };
  const roles = ['timestamp', 'snapshot', 'targets', 'targets/releases'];
  for (let i = 0; i < roles.length; i++) {
    const expires = signedOf(sim, roles[i] as string).expires;
    const exactly = load(expires);
    const expired = load(new Date(expires.getTime() + 1));
    for (let j = 0; j < i; j++) {
      (exactly[j] as () => unknown)();
      (expired[j] as () => unknown)();
    }
    t.doesNotThrow(exactly[i] as () => unknown, `${roles[i]} expiring now`);
    const err = throwsWith(t, expired[i] as () => unknown, ExpiredMetadataError, 'EXPIRED');
    t.equal(err.role, roles[i]);
  }
});

t.test('the snapshot must list the trusted root: another root means the root rotated', async (t) => {
  const sim = repo();
  sim.publishRoot();
  sim.publish(); // the snapshot lists root v2
  const set = start(sim, {}, file(sim, '1.root'));
  set.updateTimestamp(file(sim, 'timestamp'), 0);
  const err = throwsWith(t, () => set.updateSnapshot(file(sim, 'snapshot'), 0), LengthOrHashMismatchError, 'LENGTH_OR_HASH_MISMATCH');
  t.equal(err.role, 'root');
  t.equal(set.snapshot, undefined);
});

t.test('a delegation the snapshot does not list is refused', async (t) => {
  const sim = repo();
  sim.beforeSign.set('snapshot', (s) => {
    delete (s.meta as Record<string, unknown>)['targets/releases'];
  });
  sim.publish();
  const set = throughTargets(sim);
  const err = throwsWith(t, () => set.updateDelegation('targets', releasesSpec(set), file(sim, 'targets/releases'), 0), LengthOrHashMismatchError, 'LENGTH_OR_HASH_MISMATCH');
  t.equal(err.role, 'targets/releases');
});

t.test('a role with threshold 2 in root needs two of its keys', async (t) => {
  const sim = repo();
  sim.keys.timestamp = [SimKey.generate('ed25519'), SimKey.generate('ed25519')];
  sim.thresholds.timestamp = 2;
  sim.publishRoot();
  sim.publish();
  t.equal(start(sim).updateTimestamp(file(sim, 'timestamp'), 0).signers.length, 2, 'both keys sign');
  sim.signatureHooks.set('timestamp', (sigs) => sigs.slice(0, 1));
  sim.publish();
  const err = throwsWith(t, () => start(sim).updateTimestamp(file(sim, 'timestamp'), 0), UnsignedMetadataError, 'SIGNATURE_THRESHOLD');
  t.equal(err.role, 'timestamp');
});

// ---- the offline grace ----------------------------------------------------------------------

t.test('graceMs: the configured staleness for timestamp and snapshot only, never negative', async (t) => {
  const sim = repo();
  const set = start(sim, { maxStalenessMs: 5000 });
  t.equal(set.graceMs('timestamp'), 5000);
  t.equal(set.graceMs('snapshot'), 5000);
  for (const role of ['root', 'targets', 'targets/releases']) t.equal(set.graceMs(role), 0, role);
  t.equal(start(sim, { maxStalenessMs: -5000 }).graceMs('timestamp'), 0);
  t.equal(start(sim).graceMs('timestamp'), 0);
});

t.test('grace: accepted up to expiry + grace inclusive, and marked stale; refused a millisecond later', async (t) => {
  const sim = repo();
  const grace = 3 * DAY;
  const tsExpires = signedOf(sim, 'timestamp').expires;
  const atEdge = start(sim, { now: new Date(tsExpires.getTime() + grace), maxStalenessMs: grace });
  atEdge.updateTimestamp(file(sim, 'timestamp'), 0);
  t.equal(atEdge.stale, true, 'stale once the timestamp is accepted under the grace');
  const late = start(sim, { now: new Date(tsExpires.getTime() + grace + 1), maxStalenessMs: grace });
  const err = throwsWith(t, () => late.updateTimestamp(file(sim, 'timestamp'), 0), ExpiredMetadataError, 'EXPIRED');
  t.equal(err.role, 'timestamp');
  const noGrace = start(sim, { now: new Date(tsExpires.getTime() + 1), maxStalenessMs: 0 });
  throwsWith(t, () => noGrace.updateTimestamp(file(sim, 'timestamp'), 0), ExpiredMetadataError, 'EXPIRED');
});

t.test('stale: only when timestamp or snapshot expired before now, each on its own', async (t) => {
  const sim = repo();
  sim.signed.timestamp.expires = sim.expiresIn(10);
  sim.signed.snapshot.expires = sim.expiresIn(5);
  sim.publish();
  const ts = signedOf(sim, 'timestamp').expires;
  const sn = signedOf(sim, 'snapshot').expires;
  const exp = (days: number) => new Date(sim.now.getTime() + days * DAY);
  const loaded = (now: Date, upTo: 'timestamp' | 'snapshot') => {
    const set = start(sim, { now, maxStalenessMs: 30 * DAY });
    set.updateTimestamp(file(sim, 'timestamp'), 0);
    if (upTo === 'snapshot') set.updateSnapshot(file(sim, 'snapshot'), 0);
    return set;
  };
  t.equal(loaded(exp(1), 'snapshot').stale, false, 'both fresh');
  t.equal(loaded(sn, 'snapshot').stale, false, 'the snapshot expiring exactly now is not stale');
  t.equal(loaded(exp(6), 'timestamp').stale, false, 'timestamp fresh, no snapshot yet');
  t.equal(loaded(exp(6), 'snapshot').stale, true, 'only the snapshot expired');
  t.equal(loaded(ts, 'timestamp').stale, false, 'the timestamp expiring exactly now is not stale');
  t.equal(loaded(exp(11), 'timestamp').stale, true, 'the timestamp expired');
});

// The update workflow's own decisions (notary/updater.ts), over the repository simulator: what it asks
// Notary for on a refresh, the delegation limit, delegations the snapshot does not list, skipped
// delegations kept in the store at their floor (and nothing else that failed), the offline grace, the
// events it reports, and why a tag is unsigned when delegations were left out.

import t from 'tap';
import { MemoryTrustStore } from '../../src/cache/trust-store.js';
import {
  ExpiredMetadataError,
  HttpStatusError,
  LengthOrHashMismatchError,
  StoreUnavailableError,
  TagNotSignedError,
  UnreachableError,
  UnsignedMetadataError,
} from '../../src/errors.js';
import { TrustUpdater, type UpdaterEvent } from '../../src/notary/updater.js';
import { NO_PINNING, type JsonObject } from '../../src/trust/index.js';
import { RepoSimulator, sha256Hex } from '../helpers/simulator.js';
import { rejectsWith, updaterFor } from '../helpers/trust.js';

const DAY = 86_400_000;

function repo(delegations: string[] = []) {
  const sim = new RepoSimulator();
  sim.addTarget('targets', 'v1', 'manifest v1');
  for (const d of delegations) {
    sim.addDelegation(d);
    sim.addTarget(d, `in-${d.split('/').pop()}`, `manifest of ${d}`);
  }
  sim.publish();
  return sim;
}

t.test('a refresh with nothing new asks Notary for the timestamp only; stored files are reused', async (t) => {
  const sim = repo(['targets/releases']);
  const store = new MemoryTrustStore();
  const first = await updaterFor(sim, { store }).refresh(sim.gun);
  t.equal(first.timestampSource, 'remote');
  t.same(sim.requests, ['root', 'timestamp', `snapshot.${sha256Hex(sim.files.get('snapshot') as Buffer)}`, `targets.${sha256Hex(sim.files.get('targets') as Buffer)}`, `targets/releases.${sha256Hex(sim.files.get('targets/releases') as Buffer)}`]);
  sim.requests.length = 0;
  const again = await updaterFor(sim, { store }).refresh(sim.gun);
  t.same(sim.requests, ['timestamp']);
  t.equal(again.timestampSource, 'remote');
  t.equal(again.set.targetsFiles.get('targets/releases')?.data.version, 1);
});

t.test('a timestamp refused with a status that is no outage is not taken for a root rotation', async (t) => {
  const sim = repo();
  const store = new MemoryTrustStore();
  await updaterFor(sim, { store }).refresh(sim.gun);
  sim.requests.length = 0;
  sim.overrides.set('timestamp', new HttpStatusError('sim://notary', 403));
  await rejectsWith(t, updaterFor(sim, { store }).refresh(sim.gun), HttpStatusError, 'HTTP_STATUS');
  t.same(sim.requests, ['timestamp'], 'no root fetched');
});

t.test('an expired stored root is rotated before anything else is fetched', async (t) => {
  const sim = repo();
  sim.signed.root.expires = sim.expiresIn(2);
  sim.publishRoot();
  sim.publish();
  const store = new MemoryTrustStore();
  await updaterFor(sim, { store }).refresh(sim.gun);
  sim.signed.root.expires = sim.expiresIn(3650);
  sim.publishRoot();
  sim.publish();
  sim.requests.length = 0;
  const later = () => new Date(sim.now.getTime() + 5 * DAY);
  const r = await updaterFor(sim, { store, clock: later }).refresh(sim.gun);
  t.equal(r.set.root.root.version, 3);
  t.equal(sim.requests[0], 'root');
  t.equal(sim.requests.filter((n) => n === 'timestamp').length, 1);
});

t.test('a verification failure retried from the stored root does not apply first-contact rules to it', async (t) => {
  const sim = repo();
  const store = new MemoryTrustStore();
  await updaterFor(sim, { store }).refresh(sim.gun);
  // trust on first use is off now: the stored root still anchors trust, it is no first contact
  const noTofu = { ...NO_PINNING, disableTOFU: true };
  sim.signatureHooks.set('timestamp', () => []);
  sim.publish();
  await rejectsWith(t, updaterFor(sim, { store, pinning: noTofu }).refresh(sim.gun), UnsignedMetadataError, 'SIGNATURE_THRESHOLD');
});

t.test('the delegation limit: exactly the limit loads, one more is refused', async (t) => {
  const sim = repo(['targets/a', 'targets/b']);
  const limited = (maxDelegations: number) => new TrustUpdater({ fetcher: sim, store: new MemoryTrustStore(), pinning: NO_PINNING, limits: { maxDelegations } });
  t.equal((await limited(2).refresh(sim.gun)).set.targetsFiles.size, 3);
  await rejectsWith(t, limited(1).refresh(sim.gun), UnsignedMetadataError, 'SIGNATURE_THRESHOLD');
});

t.test('a delegation the snapshot lists no checksum for is not downloaded', async (t) => {
  const sim = repo(['targets/releases']);
  sim.beforeSign.set('snapshot', (s) => delete (s.meta as JsonObject)['targets/releases']);
  sim.publish();
  const r = await updaterFor(sim).refresh(sim.gun);
  t.equal(r.set.targetsFiles.has('targets/releases'), false);
  t.notOk(sim.requests.some((n) => n.startsWith('targets/releases')));
});

t.test('an under-signed delegation: skipped, reported, and stored at its floor so offline sources skip it too', async (t) => {
  const sim = repo();
  sim.addDelegation('targets/releases', { threshold: 2 });
  sim.addTarget('targets/releases', 'v2', 'manifest v2');
  sim.publish();
  const store = new MemoryTrustStore();
  const events: UpdaterEvent[] = [];
  const r = await updaterFor(sim, { store, events }).refresh(sim.gun);
  t.ok(r.skipped.get('targets/releases') instanceof UnsignedMetadataError);
  const skipped = events.find((e) => e.type === 'delegation-skipped');
  t.same(skipped && { ...skipped, cause: skipped.cause.code }, { type: 'delegation-skipped', gun: sim.gun, role: 'targets/releases', cause: 'SIGNATURE_THRESHOLD' });
  t.same(await store.getMetadata(sim.gun, 'targets/releases'), sim.files.get('targets/releases'));
  t.equal((await store.getVersions(sim.gun)).get('targets/releases'), 0, 'at the floor it had, not its own version');
  // the same without anyone listening for events
  const quiet = new TrustUpdater({ fetcher: sim, store: new MemoryTrustStore(), pinning: NO_PINNING });
  t.equal((await quiet.refresh(sim.gun)).skipped.size, 1);
  // and why its tag is not served
  const err = await rejectsWith(t, updaterFor(sim, { store }).resolve(sim.gun, 'v2'), TagNotSignedError, 'NOT_SIGNED');
  t.ok(err.cause instanceof UnsignedMetadataError, 'the skipped delegation is the cause');
  const plain = await rejectsWith(t, updaterFor(repo()).resolve(sim.gun, 'v2'), TagNotSignedError, 'NOT_SIGNED');
  t.equal(plain.cause, undefined, 'nothing skipped: the engine\'s own refusal');
});

t.test('files that failed verification for other reasons are never stored', async (t) => {
  await t.test('a delegation whose bytes do not match the snapshot', async (t) => {
    const sim = repo(['targets/releases']);
    const name = `targets/releases.${sha256Hex(sim.files.get('targets/releases') as Buffer)}`;
    const genuine = sim.files.get(name) as Buffer;
    sim.overrides.set(name, Buffer.from(genuine.toString('utf8').replace('"version":1', '"version":7')));
    const store = new MemoryTrustStore();
    await rejectsWith(t, updaterFor(sim, { store }).refresh(sim.gun), LengthOrHashMismatchError, 'LENGTH_OR_HASH_MISMATCH');
    t.equal(await store.getMetadata(sim.gun, 'targets/releases'), undefined);
  });
  await t.test('an expired snapshot', async (t) => {
    const sim = repo();
    sim.signed.snapshot.expires = sim.expiresIn(-1);
    sim.publish();
    const store = new MemoryTrustStore();
    await rejectsWith(t, updaterFor(sim, { store }).refresh(sim.gun), ExpiredMetadataError, 'EXPIRED');
    t.equal(await store.getMetadata(sim.gun, 'snapshot'), undefined);
  });
});

t.test('the offline grace given to the updater applies to an expired timestamp', async (t) => {
  const sim = repo();
  const later = () => new Date(sim.now.getTime() + 15 * DAY); // the timestamp expires after 14 days
  await rejectsWith(t, updaterFor(sim, { clock: later }).refresh(sim.gun), ExpiredMetadataError, 'EXPIRED');
  const r = await updaterFor(sim, { clock: later, maxStalenessMs: 7 * DAY }).refresh(sim.gun);
  t.equal(r.set.timestamp?.data.version, sim.signed.timestamp.version);
});

t.test('an outage at first contact, with no stored timestamp: the outage itself is reported', async (t) => {
  const sim = repo();
  sim.overrides.set('timestamp', new HttpStatusError('sim://notary', 503));
  await rejectsWith(t, updaterFor(sim).refresh(sim.gun), HttpStatusError, 'HTTP_STATUS');
  sim.overrides.set('timestamp', new UnreachableError('sim://notary', 'refused'));
  await rejectsWith(t, updaterFor(sim).refresh(sim.gun), UnreachableError, 'UNREACHABLE');
});

t.test('the stored timestamp during an outage, without anyone listening for events', async (t) => {
  const sim = repo();
  const store = new MemoryTrustStore();
  await updaterFor(sim, { store }).refresh(sim.gun);
  sim.overrides.set('timestamp', new UnreachableError('sim://notary', 'refused'));
  const quiet = new TrustUpdater({ fetcher: sim, store, pinning: NO_PINNING });
  t.equal((await quiet.refresh(sim.gun)).timestampSource, 'store');
});

t.test('root certificate expiries: reported per repository refreshed', async (t) => {
  const sim = repo();
  const u = updaterFor(sim);
  t.same([...u.rootCertificateExpiries()], []);
  await u.refresh(sim.gun);
  const expiries = [...u.rootCertificateExpiries()];
  t.equal(expiries.length, 1);
  t.equal(expiries[0]?.gun, sim.gun);
  t.ok((expiries[0]?.expires ?? 0) > sim.now.getTime());
});

t.test('a store failing while the stored timestamp stands in for Notary: the store\'s error, not an outage', async (t) => {
  class FailingWrites extends MemoryTrustStore {
    failing = false;
    override async putMetadata(gun: string, role: string, bytes: Buffer, version: number, resetFloors?: readonly string[]): Promise<void> {
      if (this.failing && role === 'timestamp') throw new StoreUnavailableError('memory://test', 'write failed');
      return super.putMetadata(gun, role, bytes, version, resetFloors);
    }
  }
  const sim = repo();
  const store = new FailingWrites();
  await updaterFor(sim, { store }).refresh(sim.gun);
  sim.overrides.set('timestamp', new UnreachableError('sim://notary', 'refused'));
  store.failing = true;
  await rejectsWith(t, updaterFor(sim, { store }).refresh(sim.gun), StoreUnavailableError, 'STORE_UNAVAILABLE');
});

// `trust: any` and `trust: all` (pull/combined-trust.ts) over two trust sources that answer as a test
// tells them: which answer wins, which refusal is reported, and what a combined verdict says.

import t from 'tap';
import {
  HttpStatusError,
  NoTrustDataError,
  SigstoreError,
  TagNotSignedError,
  TrustSystemsDisagreeError,
  UnreachableError,
} from '../../src/errors.js';
import { AllTrustSource, AnyTrustSource } from '../../src/pull/combined-trust.js';
import type { PullTarget } from '../../src/pull/target.js';
import type { DigestVerdict, ResolvedTag, TagVerdict, TrustExpiry, TrustSource, TrustSystem } from '../../src/pull/trust-source.js';
import { rejectsWith } from '../helpers/trust.js';

const GUN = 'docker.io/library/both';
const target = { gun: GUN, repository: 'library/both' } as PullTarget;
const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;

type Answer<T> = T | Error;
const settle = async <T>(a: Answer<T>): Promise<T> => {
  if (a instanceof Error) throw a;
  return a;
};

/** A trust source whose answers a test sets; counts what it is asked. */
class ScriptedSource implements TrustSource {
  tag: Answer<ResolvedTag> = new NoTrustDataError(GUN);
  digest: Answer<DigestVerdict>;
  tags: Answer<ReadonlySet<string>> = new Set();
  expiry: TrustExpiry[] = [];
  asked = 0;
  invalidated = 0;
  constructor(readonly system: TrustSystem) {
    this.digest = digestVerdict(system, false);
  }
  resolveTag(): Promise<ResolvedTag> {
    this.asked++;
    return settle(this.tag);
  }
  admitDigest(): Promise<DigestVerdict> {
    this.asked++;
    return settle(this.digest);
  }
  signedTags(): Promise<ReadonlySet<string>> {
    this.asked++;
    return settle(this.tags);
  }
  invalidate(): void {
    this.invalidated++;
  }
  expiries(): Iterable<TrustExpiry> {
    return this.expiry;
  }
}

function tagVerdict(system: TrustSystem, over: Partial<TagVerdict> = {}): TagVerdict {
  return { system, digest: D1, signedBy: system === 'notary' ? 'targets/releases' : 'key', signers: [`${system}-signer`], expires: 5000, verifiedAt: 100, ...over };
}
const resolved = (verdict: TagVerdict, cache: 'hit' | 'miss' = 'miss'): ResolvedTag => ({ verdict, cache });
function digestVerdict(system: TrustSystem, signed: boolean, over: Partial<DigestVerdict> = {}): DigestVerdict {
  return { system, signed, signedBy: signed ? `${system}-role` : undefined, expires: 5000, verifiedAt: 100, ...over };
}
const unreachable = () => new UnreachableError('http://127.0.0.1:9/', 'down');
const sigstoreRefusal = () => new SigstoreError('SIGSTORE_NO_SIGNATURE', 'none');

function pair() {
  return { notary: new ScriptedSource('notary'), sigstore: new ScriptedSource('sigstore') };
}

t.test('any: tags', async (t) => {
  await t.test('the first system verifying answers, the second is not asked', async (t) => {
    const { notary, sigstore } = pair();
    notary.tag = resolved(tagVerdict('notary'));
    t.equal((await new AnyTrustSource(notary, sigstore).resolveTag(target, 'v1')).verdict.system, 'notary');
    t.equal(sigstore.asked, 0);
  });
  await t.test('the second answers when the first refuses', async (t) => {
    const { notary, sigstore } = pair();
    sigstore.tag = resolved(tagVerdict('sigstore', { digest: D2 }));
    t.equal((await new AnyTrustSource(notary, sigstore).resolveTag(target, 'v1')).verdict.digest, D2);
  });
  await t.test('both refuse: a repository Notary knows nothing of reports Sigstore\'s refusal', async (t) => {
    const { notary, sigstore } = pair();
    sigstore.tag = sigstoreRefusal();
    await rejectsWith(t, new AnyTrustSource(notary, sigstore).resolveTag(target, 'v1'), SigstoreError, 'SIGSTORE_NO_SIGNATURE');
  });
  await t.test('both refuse: an unreachable first system reports the second\'s refusal', async (t) => {
    const { notary, sigstore } = pair();
    notary.tag = unreachable();
    sigstore.tag = sigstoreRefusal();
    await rejectsWith(t, new AnyTrustSource(notary, sigstore).resolveTag(target, 'v1'), SigstoreError, 'SIGSTORE_NO_SIGNATURE');
  });
  await t.test('both refuse: both unreachable reports the first', async (t) => {
    const { notary, sigstore } = pair();
    notary.tag = unreachable();
    sigstore.tag = new HttpStatusError('http://127.0.0.1:9/', 500);
    await rejectsWith(t, new AnyTrustSource(notary, sigstore).resolveTag(target, 'v1'), UnreachableError, 'UNREACHABLE');
  });
  await t.test('both refuse: a signed-elsewhere refusal of the first is kept over the second\'s outage', async (t) => {
    const { notary, sigstore } = pair();
    notary.tag = new TagNotSignedError(GUN, 'v1', 'not in targets');
    sigstore.tag = unreachable();
    await rejectsWith(t, new AnyTrustSource(notary, sigstore).resolveTag(target, 'v1'), TagNotSignedError, 'NOT_SIGNED');
  });
  await t.test('a programming error is not a refusal: it is thrown, the second not asked', async (t) => {
    const { notary, sigstore } = pair();
    notary.tag = new TypeError('bug');
    await t.rejects(new AnyTrustSource(notary, sigstore).resolveTag(target, 'v1'), TypeError);
    t.equal(sigstore.asked, 0);
    notary.tag = new NoTrustDataError(GUN);
    sigstore.tag = new TypeError('bug');
    await t.rejects(new AnyTrustSource(notary, sigstore).resolveTag(target, 'v1'), TypeError);
  });
});

t.test('any: digests', async (t) => {
  await t.test('signed by the first: answered by it', async (t) => {
    const { notary, sigstore } = pair();
    notary.digest = digestVerdict('notary', true);
    t.same(await new AnyTrustSource(notary, sigstore).admitDigest(target, D1), notary.digest);
    t.equal(sigstore.asked, 0);
  });
  await t.test('signed by the second only: answered by it', async (t) => {
    const { notary, sigstore } = pair();
    sigstore.digest = digestVerdict('sigstore', true);
    t.same(await new AnyTrustSource(notary, sigstore).admitDigest(target, D1), sigstore.digest);
  });
  await t.test('the first refusing and the second signing: signed', async (t) => {
    const { notary, sigstore } = pair();
    notary.digest = unreachable();
    sigstore.digest = digestVerdict('sigstore', true);
    t.equal((await new AnyTrustSource(notary, sigstore).admitDigest(target, D1)).signed, true);
  });
  await t.test('neither signs, neither refuses: not signed (the second\'s verdict)', async (t) => {
    const { notary, sigstore } = pair();
    const v = await new AnyTrustSource(notary, sigstore).admitDigest(target, D1);
    t.equal(v.signed, false);
    t.equal(v.system, 'sigstore');
  });
  await t.test('neither signs and one refused: the first refusal is thrown', async (t) => {
    const { notary, sigstore } = pair();
    sigstore.digest = sigstoreRefusal();
    await rejectsWith(t, new AnyTrustSource(notary, sigstore).admitDigest(target, D1), SigstoreError, 'SIGSTORE_NO_SIGNATURE');
    notary.digest = unreachable();
    await rejectsWith(t, new AnyTrustSource(notary, sigstore).admitDigest(target, D1), UnreachableError, 'UNREACHABLE');
  });
  await t.test('a programming error is thrown, even when the other system signs', async (t) => {
    const { notary, sigstore } = pair();
    notary.digest = new TypeError('bug');
    await t.rejects(new AnyTrustSource(notary, sigstore).admitDigest(target, D1), TypeError);
    sigstore.digest = digestVerdict('sigstore', true);
    await t.rejects(new AnyTrustSource(notary, sigstore).admitDigest(target, D1), TypeError);
  });
});

t.test('any: signed tags are those either system signs; a refusing system adds none', async (t) => {
  const { notary, sigstore } = pair();
  notary.tags = new Set(['a', 'b']);
  sigstore.tags = new Set(['b', 'c']);
  t.same([...(await new AnyTrustSource(notary, sigstore).signedTags(target, ['a', 'b', 'c', 'd']))].sort(), ['a', 'b', 'c']);
  sigstore.tags = sigstoreRefusal();
  t.same([...(await new AnyTrustSource(notary, sigstore).signedTags(target, ['a', 'b']))].sort(), ['a', 'b']);
  notary.tags = unreachable();
  sigstore.tags = new Set(['c']);
  t.same([...(await new AnyTrustSource(notary, sigstore).signedTags(target, ['c']))], ['c']);
  notary.tags = new TypeError('bug');
  await t.rejects(new AnyTrustSource(notary, sigstore).signedTags(target, ['c']), TypeError);
});

t.test('all: a tag verified by both, naming the same digest: one combined verdict', async (t) => {
  const { notary, sigstore } = pair();
  notary.tag = resolved(tagVerdict('notary', { length: 321, expires: 9000, verifiedAt: 50 }), 'hit');
  sigstore.tag = resolved(tagVerdict('sigstore', { expires: 4000, verifiedAt: 70 }), 'hit');
  const r = await new AllTrustSource(notary, sigstore).resolveTag(target, 'v1');
  t.same(r, {
    verdict: {
      system: 'notary+sigstore',
      digest: D1,
      length: 321,
      signedBy: 'targets/releases+key',
      signers: ['notary-signer', 'sigstore-signer'],
      expires: 4000,
      verifiedAt: 50,
      stale: false,
    },
    cache: 'hit',
  });
});

t.test('all: the length either system signs, the earliest expiry, stale if either is, a miss if either missed', async (t) => {
  const { notary, sigstore } = pair();
  notary.tag = resolved(tagVerdict('notary', { expires: 3000, verifiedAt: 90, stale: true }), 'hit');
  sigstore.tag = resolved(tagVerdict('sigstore', { length: 77, expires: 8000, verifiedAt: 20 }));
  const r = await new AllTrustSource(notary, sigstore).resolveTag(target, 'v1');
  t.equal(r.verdict.length, 77);
  t.equal(r.verdict.expires, 3000);
  t.equal(r.verdict.verifiedAt, 20);
  t.equal(r.verdict.stale, true);
  t.equal(r.cache, 'miss');
  notary.tag = resolved(tagVerdict('notary'), 'miss');
  sigstore.tag = resolved(tagVerdict('sigstore', { stale: true }), 'hit');
  const r2 = await new AllTrustSource(notary, sigstore).resolveTag(target, 'v1');
  t.equal(r2.verdict.stale, true);
  t.equal(r2.cache, 'miss');
});

t.test('all: different digests refused as a disagreement; either refusal refuses, the first system\'s first', async (t) => {
  const { notary, sigstore } = pair();
  notary.tag = resolved(tagVerdict('notary'));
  sigstore.tag = resolved(tagVerdict('sigstore', { digest: D2 }));
  await rejectsWith(t, new AllTrustSource(notary, sigstore).resolveTag(target, 'v1'), TrustSystemsDisagreeError, 'TRUST_SYSTEMS_DISAGREE');
  sigstore.tag = sigstoreRefusal();
  await rejectsWith(t, new AllTrustSource(notary, sigstore).resolveTag(target, 'v1'), SigstoreError, 'SIGSTORE_NO_SIGNATURE');
  notary.tag = unreachable();
  await rejectsWith(t, new AllTrustSource(notary, sigstore).resolveTag(target, 'v1'), UnreachableError, 'UNREACHABLE');
});

t.test('all: a digest is signed only if both sign it', async (t) => {
  const { notary, sigstore } = pair();
  notary.digest = digestVerdict('notary', true, { expires: 7000, verifiedAt: 30 });
  sigstore.digest = digestVerdict('sigstore', true, { expires: 6000, verifiedAt: 40 });
  const all = new AllTrustSource(notary, sigstore);
  t.same(await all.admitDigest(target, D1), {
    system: 'notary+sigstore',
    signed: true,
    signedBy: 'notary-role+sigstore-role',
    expires: 6000,
    verifiedAt: 30,
    stale: false,
  });
  sigstore.digest = digestVerdict('sigstore', false, { stale: true });
  const half = await all.admitDigest(target, D1);
  t.equal(half.signed, false);
  t.equal(half.signedBy, undefined);
  t.equal(half.stale, true);
  notary.digest = digestVerdict('notary', false);
  sigstore.digest = digestVerdict('sigstore', true);
  t.equal((await all.admitDigest(target, D1)).signed, false);
  notary.digest = digestVerdict('notary', true, { stale: true });
  t.equal((await all.admitDigest(target, D1)).stale, true);
  sigstore.digest = sigstoreRefusal();
  await rejectsWith(t, all.admitDigest(target, D1), SigstoreError, 'SIGSTORE_NO_SIGNATURE');
});

t.test('all: signed tags are those both systems sign; a refusal refuses', async (t) => {
  const { notary, sigstore } = pair();
  notary.tags = new Set(['a', 'b']);
  sigstore.tags = new Set(['b', 'c']);
  t.same([...(await new AllTrustSource(notary, sigstore).signedTags(target, ['a', 'b', 'c']))], ['b']);
  sigstore.tags = unreachable();
  await rejectsWith(t, new AllTrustSource(notary, sigstore).signedTags(target, ['a']), UnreachableError, 'UNREACHABLE');
});

t.test('both combinations invalidate both systems and report both systems\' expiries', async (t) => {
  for (const Combined of [AnyTrustSource, AllTrustSource]) {
    const { notary, sigstore } = pair();
    notary.expiry = [{ system: 'notary', gun: GUN, expires: 1, stale: false }];
    sigstore.expiry = [{ system: 'sigstore', gun: GUN, expires: 2, stale: true }];
    const combined = new Combined(notary, sigstore);
    t.equal(combined.system, 'notary+sigstore');
    combined.invalidate();
    t.same([notary.invalidated, sigstore.invalidated], [1, 1]);
    t.same([...combined.expiries()], [...notary.expiry, ...sigstore.expiry]);
  }
});

// The structure rules of each role file (metadata.ts after notary tuf/data): what parses, into
// exactly what, and what is refused with which error class and code. Documents are built in the
// test; signatures are not checked here (that is trusted-set.ts).

import { createHash } from 'node:crypto';
import t, { type Test } from 'tap';
import { DelegationError, DeserializationError, WrongTypeError } from '../../src/errors.js';
import { keyIdOf } from '../../src/trust/public-key.js';
import { BASE_ROLES, parseEnvelope, parseRoot, parseSnapshot, parseTargets, parseTimestamp, type Envelope } from '../../src/trust/metadata.js';
import { throwsWith } from '../helpers/trust.js';

type Doc = Record<string, unknown>;
const EXPIRES = '2030-01-02T03:04:05Z';
const env = (signed: unknown): Envelope => parseEnvelope(Buffer.from(JSON.stringify({ signed, signatures: [] })), 'test');
const malformed = (t: Test, fn: () => unknown) => throwsWith(t, fn, DeserializationError, 'METADATA_MALFORMED');

const PUB_A = Buffer.from('public key A');
const PUB_B = Buffer.from('public key B');
const ID_A = keyIdOf('ecdsa', PUB_A);
const ID_B = keyIdOf('ed25519', PUB_B);
const KEYS = {
  [ID_A]: { keytype: 'ecdsa', keyval: { private: null, public: PUB_A.toString('base64') } },
  [ID_B]: { keytype: 'ed25519', keyval: { private: null, public: PUB_B.toString('base64') } },
};
const b64 = (n: number, fill = 1) => Buffer.alloc(n, fill).toString('base64');
const meta = (hashes: Doc, length: unknown = 10): Doc => ({ length, hashes });
const GOOD = meta({ sha256: b64(32), sha512: b64(64) });

function rootDoc(over: Doc = {}, roles: Doc = {}): Doc {
  const spec = { keyids: [ID_A], threshold: 1 };
  const allRoles = { root: spec, targets: { keyids: [ID_A, ID_B], threshold: 2 }, snapshot: spec, timestamp: spec, ...roles };
  return { _type: 'Root', consistent_snapshot: false, expires: EXPIRES, keys: KEYS, roles: allRoles, version: 1, ...over };
}
const timestampDoc = (snapshot: unknown, over: Doc = {}): Doc => ({ _type: 'Timestamp', expires: EXPIRES, meta: { snapshot }, version: 3, ...over });
const snapshotDoc = (m: Doc, over: Doc = {}): Doc => ({ _type: 'Snapshot', expires: EXPIRES, meta: { root: GOOD, targets: GOOD, ...m }, version: 2, ...over });
const targetsDoc = (over: Doc = {}): Doc => ({ _type: 'Targets', expires: EXPIRES, targets: {}, version: 1, ...over });
const delegating = (roles: unknown, keys: unknown = KEYS) => targetsDoc({ delegations: { keys, roles } });

t.test('a root: its keys, the four base roles and their specs, consistent snapshots', async (t) => {
  const root = parseRoot(env(rootDoc({ consistent_snapshot: true }, { extra: { keyids: ['nope'], threshold: 0 } })));
  t.same([root.type, root.version, root.expires.getTime()], ['Root', 1, Date.UTC(2030, 0, 2, 3, 4, 5)]);
  t.same([...root.keys.keys()].sort(), [ID_A, ID_B].sort());
  const a = root.keys.get(ID_A);
  t.same([a?.id, a?.keyType, a?.publicBytes], [ID_A, 'ecdsa', PUB_A]);
  t.same(root.keys.get(ID_B)?.keyType, 'ed25519');
  t.same([...root.roles.keys()], [...BASE_ROLES], 'only the base roles, the others ignored');
  t.same(root.roles.get('targets'), { keyIds: [ID_A, ID_B], threshold: 2 });
  t.same(root.roles.get('timestamp'), { keyIds: [ID_A], threshold: 1 });
  t.equal(root.consistentSnapshot, true);
  for (const cs of [false, 'true', 1, null, undefined]) {
    t.equal(parseRoot(env(rootDoc({ consistent_snapshot: cs }))).consistentSnapshot, false, `consistent_snapshot ${String(cs)}`);
  }
  const noKeyIds = parseRoot(env(rootDoc({}, { snapshot: { threshold: 1 }, timestamp: { keyids: null, threshold: 3 } })));
  t.same(noKeyIds.roles.get('snapshot'), { keyIds: [], threshold: 1 }, 'absent keyids: none');
  t.same(noKeyIds.roles.get('timestamp'), { keyIds: [], threshold: 3 }, 'null keyids: none');
  t.equal(parseRoot(env(rootDoc({ version: Number.MAX_SAFE_INTEGER }))).version, Number.MAX_SAFE_INTEGER);
});

t.test('malformed roots are refused', async (t) => {
  const key = KEYS[ID_A] as Doc;
  const bad: Doc[] = [
    rootDoc({ keys: undefined }),
    rootDoc({ keys: null }),
    rootDoc({ keys: [] }),
    rootDoc({ keys: { [ID_A]: null, [ID_B]: KEYS[ID_B] } }),
    rootDoc({ keys: { ...KEYS, [ID_A]: { ...key, keyval: null } } }),
    rootDoc({ keys: { ...KEYS, [ID_A]: { ...key, keyval: { public: 1 } } } }),
    rootDoc({ keys: { ...KEYS, [ID_A]: { ...key, keyval: { public: 'A' } } } }),
    rootDoc({ keys: { ...KEYS, [ID_A]: { keyval: key.keyval } } }),
    rootDoc({ keys: { ...KEYS, [ID_A]: { ...key, keytype: null } } }),
    rootDoc({ roles: undefined }),
    rootDoc({ roles: null }),
    rootDoc({ roles: [] }),
    rootDoc({ version: 0 }),
    rootDoc({ version: -1 }),
    rootDoc({ version: 1.5 }),
    rootDoc({ version: '1' }),
    rootDoc({ version: 2 ** 53 }),
    rootDoc({ version: undefined }),
    rootDoc({ expires: '2030-01-02' }),
    rootDoc({ expires: 1893553445 }),
    rootDoc({ _type: undefined }),
    rootDoc({ _type: 1 }),
  ];
  for (const role of BASE_ROLES) {
    bad.push(rootDoc({}, { [role]: undefined }), rootDoc({}, { [role]: null }), rootDoc({}, { [role]: [] }));
    bad.push(rootDoc({}, { [role]: { keyids: [ID_A], threshold: 0 } }), rootDoc({}, { [role]: { keyids: [ID_A] } }));
    bad.push(rootDoc({}, { [role]: { keyids: [ID_A, 'f'.repeat(64)], threshold: 1 } }));
    bad.push(rootDoc({}, { [role]: { keyids: ID_A, threshold: 1 } }), rootDoc({}, { [role]: { keyids: [1], threshold: 1 } }));
  }
  for (const doc of bad) malformed(t, () => parseRoot(env(doc)));
});

t.test('the _type must be the role parsed, delegations being Targets', async (t) => {
  const wrong: [Doc, (e: Envelope) => unknown][] = [
    [rootDoc({ _type: 'Targets' }), parseRoot],
    [rootDoc({ _type: 'root' }), parseRoot],
    [timestampDoc(GOOD, { _type: 'Snapshot' }), parseTimestamp],
    [snapshotDoc({}, { _type: 'Timestamp' }), parseSnapshot],
    [targetsDoc({ _type: 'Root' }), (e) => parseTargets(e, 'targets')],
    [targetsDoc({ _type: 'Targets ' }), (e) => parseTargets(e, 'targets')],
    [targetsDoc({ _type: 'Root' }), (e) => parseTargets(e, 'targets/releases')],
    [targetsDoc({ _type: 'Delegation' }), (e) => parseTargets(e, 'targets/releases')],
  ];
  for (const [doc, parse] of wrong) throwsWith(t, () => parse(env(doc)), WrongTypeError, 'WRONG_TYPE');
  t.equal(parseTargets(env(targetsDoc()), 'targets/releases').type, 'Targets');
  t.equal(parseTargets(env(targetsDoc()), 'targets/a/b').type, 'Targets');
});

t.test('a timestamp: the snapshot checksum, sha256 required and known digests sized right', async (t) => {
  const ts = parseTimestamp(env(timestampDoc(meta({ sha256: b64(32, 7), md5: b64(3) }, 1234))));
  t.same([ts.type, ts.version], ['Timestamp', 3]);
  t.equal(ts.snapshot.length, 1234);
  t.same([...ts.snapshot.hashes], [['sha256', b64(32, 7)], ['md5', b64(3)]], 'unknown algorithms kept, any size');
  t.equal(parseTimestamp(env(timestampDoc({ hashes: { sha256: b64(32) } }))).snapshot.length, 0, 'absent length: 0');
  t.equal(parseTimestamp(env(timestampDoc(meta({ sha256: b64(32) }, null)))).snapshot.length, 0, 'null length: 0, as Go decodes it');
  const bad: unknown[] = [
    meta({ sha512: b64(64) }),
    meta({}),
    meta(null as unknown as Doc),
    { length: 1 },
    meta({ sha256: b64(31) }),
    meta({ sha256: b64(33) }),
    meta({ sha256: b64(32), sha512: b64(32) }),
    meta({ sha256: b64(32), sha512: b64(65) }),
    meta({ sha256: 'AAA' }),
    meta({ sha256: 7 }),
    meta({ sha256: b64(32) }, '10'),
    meta({ sha256: b64(32) }, 1.5),
    [],
    'x',
    null,
    undefined,
  ];
  for (const m of bad) malformed(t, () => parseTimestamp(env(timestampDoc(m))));
  for (const m of [undefined, null, [], {}]) malformed(t, () => parseTimestamp(env(timestampDoc(GOOD, { meta: m }))));
});

t.test('a snapshot: strict checksums for root and targets only, both required', async (t) => {
  const loose = { 'targets/releases': meta({ sha512: b64(3) }, 5), 'targets/a': { hashes: null } };
  const snap = parseSnapshot(env(snapshotDoc(loose)));
  t.same([snap.type, snap.version], ['Snapshot', 2]);
  t.same([...snap.meta.keys()].sort(), ['root', 'targets', 'targets/a', 'targets/releases']);
  t.same(snap.meta.get('targets/releases'), { length: 5, hashes: new Map([['sha512', b64(3)]]) });
  t.same(snap.meta.get('targets/a'), { length: 0, hashes: new Map() });
  t.same(snap.meta.get('root'), { length: 10, hashes: new Map([['sha256', b64(32)], ['sha512', b64(64)]]) });
  for (const strictRole of ['root', 'targets']) {
    for (const m of [meta({ sha512: b64(64) }), meta({ sha256: b64(20) }), meta({ sha256: b64(32), sha512: b64(20) }), undefined, null]) {
      malformed(t, () => parseSnapshot(env(snapshotDoc({ [strictRole]: m }))));
    }
  }
  for (const m of [meta({ sha256: '!!!!' }), meta({ sha256: 1 }), 'x', null, meta({}, '1')]) {
    malformed(t, () => parseSnapshot(env(snapshotDoc({ 'targets/releases': m }))));
  }
  for (const m of [undefined, null, [], 'x']) malformed(t, () => parseSnapshot(env(snapshotDoc({}, { meta: m }))));
});

t.test('targets: entries checked for shape at once and parsed on lookup, once', async (t) => {
  const digest = createHash('sha256').update('manifest').digest('base64');
  const targets = {
    v1: meta({ sha256: digest }, 99),
    short: meta({ sha256: b64(3) }, 1),
    nohash: { length: 4 },
    broken: meta({ sha256: 'not base64' }),
    toString: meta({ sha256: digest }, 7),
  };
  const parsed = parseTargets(env(targetsDoc({ targets, version: 4 })), 'targets');
  t.same([parsed.type, parsed.version], ['Targets', 4]);
  t.equal(parsed.targets.size, 5);
  t.same([...parsed.targets.names()], Object.keys(targets));
  t.same(parsed.targets.get('v1'), { length: 99, hashes: new Map([['sha256', digest]]) });
  t.equal(parsed.targets.get('v1'), parsed.targets.get('v1'), 'parsed once');
  t.same(parsed.targets.get('short'), { length: 1, hashes: new Map([['sha256', b64(3)]]) }, 'no size rule for targets');
  t.same(parsed.targets.get('nohash'), { length: 4, hashes: new Map() }, 'no sha256 rule for targets');
  t.equal(parsed.targets.get('toString')?.length, 7);
  for (const absent of ['v2', 'constructor', '__proto__', 'hasOwnProperty']) t.equal(parsed.targets.get(absent), undefined, absent);
  malformed(t, () => parsed.targets.get('broken'));
  t.same(parsed.delegations, []);
  t.equal(parsed.delegationKeys.size, 0);
  for (const over of [{ targets: undefined }, { targets: null }, { delegations: undefined }, { delegations: null }, { delegations: {} }]) {
    const p = parseTargets(env(targetsDoc(over)), 'targets');
    t.same([p.targets.size, p.delegations.length, p.delegationKeys.size], [0, 0, 0]);
  }
  const bad: Doc[] = [{ targets: [] }, { targets: 'x' }, { targets: 1 }, { targets: { v1: null } }, { targets: { v1: [] } }, { targets: { v1: 'x' } }];
  bad.push({ delegations: [] }, { delegations: 'x' });
  for (const over of bad) malformed(t, () => parseTargets(env(targetsDoc(over)), 'targets'));
});

t.test('checksums must be standard padded base64, whatever the role', async (t) => {
  const valid = ['', 'AAAA', 'AA==', 'AAA=', 'ab+/', 'AAAAAA==', 'AAAAAAA=', 'z9Z0'];
  const invalid = ['A', 'AA', 'AAA', 'AAAAA', 'AA=', 'A===', 'AAA==', 'AAAAA=', 'AAAAAAA==', '=AAA', 'AA==AAAA', '-_AA', 'AAAA ', ' AAAA', 'AAAA\n', 'AA.A'];
  const targets = Object.fromEntries([...valid, ...invalid].map((h, i) => [`t${i}`, meta({ md5: h })]));
  const parsed = parseTargets(env(targetsDoc({ targets })), 'targets');
  valid.forEach((h, i) => t.same(parsed.targets.get(`t${i}`)?.hashes.get('md5'), h, JSON.stringify(h)));
  invalid.forEach((_, i) => malformed(t, () => parsed.targets.get(`t${valid.length + i}`)));
});

t.test('delegations: keys, specs and paths of the direct children', async (t) => {
  const roles = [
    { name: 'targets/releases', keyids: [ID_A], threshold: 1, paths: ['', 'v'] },
    { name: 'targets/qa', keyids: [ID_A, ID_B], threshold: 2 },
  ];
  const p = parseTargets(env(delegating(roles)), 'targets');
  t.same([...p.delegationKeys.keys()].sort(), [ID_A, ID_B].sort());
  t.same(p.delegationKeys.get(ID_B)?.publicBytes, PUB_B);
  t.same(p.delegations, [
    { name: 'targets/releases', keyIds: [ID_A], threshold: 1, paths: ['', 'v'] },
    { name: 'targets/qa', keyIds: [ID_A, ID_B], threshold: 2, paths: [] },
  ]);
  const nested = parseTargets(env(delegating([{ name: 'targets/qa/eu', keyids: [ID_B], threshold: 1, paths: null }])), 'targets/qa');
  t.same(nested.delegations, [{ name: 'targets/qa/eu', keyIds: [ID_B], threshold: 1, paths: [] }]);
  t.equal(parseTargets(env(delegating(null)), 'targets').delegations.length, 0);
});

t.test('delegations that are not valid direct children, or malformed, are refused', async (t) => {
  const spec = { keyids: [ID_A], threshold: 1 };
  const notChildren: [string, string][] = [
    ['targets', 'targets/a/b'],
    ['targets', 'targets'],
    ['targets', 'targets/A'],
    ['targets', 'targets/a.b'],
    ['targets', 'targets/a/'],
    ['targets', 'targetsx'],
    ['targets', 'root'],
    ['targets/releases', 'targets/x'],
    ['targets/a', 'targets/ab/c'],
    ['targets/a', 'targets/a'],
  ];
  for (const [parent, name] of notChildren) {
    throwsWith(t, () => parseTargets(env(delegating([{ name, ...spec }])), parent), DelegationError, 'DELEGATION_INVALID');
  }
  const malformedRoles: unknown[] = [
    {},
    'x',
    [null],
    ['targets/a'],
    [{ ...spec }],
    [{ name: 1, ...spec }],
    [{ name: 'targets/a', keyids: ['f'.repeat(64)], threshold: 1 }],
    [{ name: 'targets/a', keyids: [ID_A], threshold: 0 }],
    [{ name: 'targets/a', keyids: [ID_A] }],
    [{ name: 'targets/a', ...spec, paths: 'x' }],
    [{ name: 'targets/a', ...spec, paths: [1] }],
  ];
  for (const roles of malformedRoles) malformed(t, () => parseTargets(env(delegating(roles)), 'targets'));
  malformed(t, () => parseTargets(env(delegating([{ name: 'targets/a', ...spec }], [])), 'targets'));
  malformed(t, () => parseTargets(env(delegating([{ name: 'targets/a', ...spec }], null)), 'targets'));
});
